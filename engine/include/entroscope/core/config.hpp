#pragma once
// The one configuration schema shared by GUI sessions and the CLI
// (ARCHITECTURE.md "Config JSON"). Parsing validates every key and throws
// ConfigError naming the key; a Config that left parse_config() is valid.
#include <cstdint>
#include <string>
#include <vector>

namespace entroscope {

enum class ModelKind { Aoup, Abp };
enum class Interaction { Softplus, Hard, Wca, None };

// The network and training options of the JSON schema. Each enumerator is
// spelled in JSON (and in checkpoint sidecars) as its to_string().
enum class NetworkArch { Fast, Paper };
enum class NetworkPrior { Drift, Scaled, Multiscale, None };
enum class TrainingLoss { Dsm, Ism };
enum class LossBalance { Blocks, None };
// ABP: how the Péclet number is set (SPEC 1b). FixedSpeed is the convention
// of Stenhammar et al.: the self-propulsion speed stays (24 by default, a
// force of 24 eps/sigma at unit mobility, which keeps WCA overlaps bounded)
// and Pe goes through the noise, D_r = 3 v0 / (sigma Pe), D_t = D_r sigma^2 / 3.
// FixedRotation keeps D_r and D_t and sets v0 = Pe sigma D_r / 3 (what a
// config that gives D_r or D_t together with pe means).
enum class PecletConvention { FixedSpeed, FixedRotation };

const char* to_string(ModelKind);
const char* to_string(Interaction);
const char* to_string(NetworkArch);
const char* to_string(NetworkPrior);
const char* to_string(TrainingLoss);
const char* to_string(LossBalance);
const char* to_string(PecletConvention);

// The JSON spellings back to the enums. Throw ConfigError naming the schema
// key ("network.arch", "network.prior", "training.loss", "training.balance")
// for anything else.
NetworkArch parse_network_arch(const std::string& s);
NetworkPrior parse_network_prior(const std::string& s);
TrainingLoss parse_training_loss(const std::string& s);
LossBalance parse_loss_balance(const std::string& s);

struct Spring {
    int i = 0;
    int j = 0;
    double kappa = 0.0;
};

struct NetworkConfig {
    NetworkArch arch = NetworkArch::Fast;
    int k_neighbors = 16;
    int width = 64;
    int layers = 3;
    int heads = 4;
    // Neighbourhood radius (length units); 0 = automatic: max(pair cut-off,
    // 1.5 particle diameters). The network is continuous in the positions only
    // while fewer than k_neighbors particles fit inside it.
    double cutoff = 0.0;
    // "drift": the network outputs the probability-flow velocity v = y and
    // the score is s = D^-1 (b - y) (an equilibrium system is y = 0);
    // "scaled" (default): the drift prior with the head's output in units of
    // sqrt(D) per component (entropy-production units) and the particle's own
    // drift b_x / v0 as an input (see engine/score/features.cpp);
    // "multiscale": "scaled" with the own and the neighbours' relative drift
    // also in units of v0 sqrt(D_act), compressed logarithmically (for the
    // AOUP MIPS state, where a particle pressed into a cluster drifts at
    // O(v0 sqrt(gamma))), and the own drift's time derivatives along the
    // deterministic motion (the first; without positional noise also the
    // second and third);
    // "none": the network output is the score (the paper's parameterisation).
    NetworkPrior prior = NetworkPrior::Scaled;
};

struct TrainingConfig {
    TrainingLoss loss = TrainingLoss::Dsm;
    double sigma = 0.01;
    double lr = 1e-3;
    int batch = 1024;
    double ema = 0.999;
    int warmup = 1000;
    // "blocks": each variable block's loss (active variables, positions) is
    // divided by the batch's mean |s_block|^2 (at least the block's number of
    // dofs), so a block whose score is small (the ABP angle next to positions
    // whose score is 10^4 times larger) still steers the shared layers. Each
    // block's minimiser is unchanged. "none": the plain sum (with it the ABP
    // default model learned an active part 75 times too small).
    LossBalance balance = LossBalance::Blocks;
};

struct Config {
    static constexpr int kVersion = 1;

    ModelKind model = ModelKind::Aoup;
    int n = 4096;
    // Exactly one of "phi"/"box" is given in JSON; both are kept consistent here.
    double phi = 0.5;
    double box = 0.0;
    bool box_given = false;  // whether JSON fixed the box (true) or phi (false)
    Interaction interaction = Interaction::Softplus;

    // AOUP (SPEC 1a). v0 is shared with ABP.
    double v0 = 0.025;
    double gamma = 1e-4;
    double eps = 0.0;
    double k = 1.0;
    double beta = 7.5;
    double r0 = 1.0;
    double dt = 0.1;

    // ABP (SPEC 1b): D_r = 3 D_t / sigma^2, Pe = 3 v0 / (sigma D_r).
    double D_t = 0.24;
    double D_r = 0.72;
    double sigma = 1.0;
    PecletConvention pe_convention = PecletConvention::FixedSpeed;
    // Whether dt was chosen by abp_time_step() (ABP config without "dt"):
    // then a change of Pe chooses it again.
    bool dt_auto = false;

    std::vector<int> types;             // per particle; empty = all type 0
    std::vector<double> trap_stiffness; // per type; empty = no trap
    std::vector<Spring> springs;
    std::uint64_t seed = 1;

    NetworkConfig network;
    TrainingConfig training;

    // Derived quantities.
    double box_length() const { return box; }
    double packing_fraction() const { return phi; }
    // AOUP: Pe = v0 / (2 r0 gamma); ABP: Pe = 3 v0 / (sigma D_r).
    double peclet() const;
    // v0 that gives Péclet number `pe` with the other parameters fixed
    // (AOUP, and ABP under FixedRotation).
    double v0_for_peclet(double pe) const;
    // The same system at Péclet number `pe`: AOUP changes v0; ABP follows
    // pe_convention (and re-chooses dt when dt_auto). Throws ConfigError for
    // a negative or non-finite pe.
    Config with_peclet(double pe) const;
    // ABP time step from the physics, the smallest of: the self-propulsion
    // moves a particle by at most 0.0024 sigma per step (1/50 of the WCA
    // shell (2^(1/6) - 1) sigma; 1e-4 at v0 = 24); the translational noise
    // by at most 0.01 sigma rms (sqrt(2 D_t dt), 1/12 of the WCA shell); dt is
    // at most 1/20 of the inverse WCA stiffness at contact; a trap relaxes over at
    // least 100 steps (dt <= 0.01 / k). 1e-4 when none applies.
    double abp_time_step() const;
    // Particle area fraction per unit N/L^2: phi = n * area / L^2.
    double particle_area() const;
    // Pair-force cut-off radius (0 when there is no pair force).
    double pair_cutoff() const;
    int type_of(int i) const { return types.empty() ? 0 : types[static_cast<std::size_t>(i)]; }
    double trap_of(int i) const;
    bool has_trap() const;
    // AOUP with no pair force: traps + springs only, exact Gaussian answers exist.
    bool is_linear() const { return model == ModelKind::Aoup && interaction == Interaction::None; }
    // Number of active-variable components per particle (AOUP g: 2, ABP theta: 1).
    int active_dim() const { return model == ModelKind::Aoup ? 2 : 1; }
    // Positional diffusion constant (eps for AOUP, D_t for ABP).
    double position_diffusion() const { return model == ModelKind::Aoup ? eps : D_t; }

    // Recompute box from phi (or phi from box), then validate everything.
    void finalize();
};

// Defaults of SPEC §1 for a model (AOUP: the paper's MIPS run; ABP: Pe 100).
Config default_config(ModelKind model = ModelKind::Aoup);

// Parse and validate. Throws ConfigError("key", reason) for unknown keys,
// wrong types, out-of-range values, or a malformed document.
Config parse_config(const std::string& json_text);
// Read a file and parse it. Throws IoError when it cannot be read, ConfigError otherwise.
Config load_config_file(const std::string& path);
// Canonical JSON of a config (every key, "phi" or "box" as given).
std::string config_to_json(const Config& cfg, int indent = 2);

// The pair-force cut-off of the softplus form: where softplus_beta(2 r0 - r)
// falls below 1e-4 of its contact value ln2/beta (SPEC 1a).
double softplus_cutoff(double r0, double beta);

}  // namespace entroscope
