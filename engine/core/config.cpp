#include "entroscope/core/config.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "entroscope/core/errors.hpp"

namespace entroscope {

using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kPhiMax = 0.95;
constexpr int kMaxParticles = 1 << 24;

// Typed readers that name the key on failure.
double get_number(const json& v, const std::string& key) {
    if (!v.is_number()) throw ConfigError(key, "expected a number, got " + std::string(v.type_name()));
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw ConfigError(key, "must be finite");
    return d;
}

long long get_integer(const json& v, const std::string& key) {
    if (v.is_number_integer()) return v.get<long long>();
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<long long>(d);
    }
    throw ConfigError(key, "expected an integer, got " + (v.is_number() ? v.dump() : std::string(v.type_name())));
}

std::string get_string(const json& v, const std::string& key) {
    if (!v.is_string()) throw ConfigError(key, "expected a string, got " + std::string(v.type_name()));
    return v.get<std::string>();
}

void require(bool ok, const std::string& key, const std::string& reason) {
    if (!ok) throw ConfigError(key, reason);
}

std::string fmt(double d) {
    std::ostringstream os;
    os.precision(12);
    os << d;
    return os.str();
}

void check_positive(double v, const std::string& key) { require(v > 0, key, "must be > 0, got " + fmt(v)); }
void check_nonnegative(double v, const std::string& key) { require(v >= 0, key, "must be >= 0, got " + fmt(v)); }

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& prefix) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (!allowed.count(it.key())) throw ConfigError(prefix + it.key(), "unknown key");
    }
}

void parse_network(const json& j, NetworkConfig& n) {
    if (!j.is_object()) throw ConfigError("network", "expected an object");
    check_keys(j, {"arch", "k_neighbors", "width", "layers", "heads", "cutoff", "prior"}, "network.");
    if (j.contains("arch")) n.arch = parse_network_arch(get_string(j["arch"], "network.arch"));
    if (j.contains("k_neighbors")) n.k_neighbors = static_cast<int>(get_integer(j["k_neighbors"], "network.k_neighbors"));
    if (j.contains("width")) n.width = static_cast<int>(get_integer(j["width"], "network.width"));
    if (j.contains("layers")) n.layers = static_cast<int>(get_integer(j["layers"], "network.layers"));
    if (j.contains("heads")) n.heads = static_cast<int>(get_integer(j["heads"], "network.heads"));
    if (j.contains("cutoff")) n.cutoff = get_number(j["cutoff"], "network.cutoff");
    if (j.contains("prior")) n.prior = parse_network_prior(get_string(j["prior"], "network.prior"));
}

void parse_training(const json& j, TrainingConfig& t) {
    if (!j.is_object()) throw ConfigError("training", "expected an object");
    check_keys(j, {"loss", "sigma", "lr", "batch", "ema", "warmup", "balance"}, "training.");
    if (j.contains("loss")) t.loss = parse_training_loss(get_string(j["loss"], "training.loss"));
    if (j.contains("sigma")) t.sigma = get_number(j["sigma"], "training.sigma");
    if (j.contains("lr")) t.lr = get_number(j["lr"], "training.lr");
    if (j.contains("batch")) t.batch = static_cast<int>(get_integer(j["batch"], "training.batch"));
    if (j.contains("ema")) t.ema = get_number(j["ema"], "training.ema");
    if (j.contains("warmup")) t.warmup = static_cast<int>(get_integer(j["warmup"], "training.warmup"));
    if (j.contains("balance")) t.balance = parse_loss_balance(get_string(j["balance"], "training.balance"));
}

void validate_network_training(const Config& c) {
    require(c.network.k_neighbors >= 1 && c.network.k_neighbors <= 256, "network.k_neighbors", "must be in [1, 256]");
    require(c.network.width >= 1 && c.network.width <= 4096, "network.width", "must be in [1, 4096]");
    require(c.network.layers >= 1 && c.network.layers <= 64, "network.layers", "must be in [1, 64]");
    require(c.network.heads >= 1 && c.network.width % c.network.heads == 0, "network.heads", "must be >= 1 and divide network.width");
    check_nonnegative(c.network.cutoff, "network.cutoff");
    check_positive(c.training.sigma, "training.sigma");
    check_positive(c.training.lr, "training.lr");
    require(c.training.batch >= 1, "training.batch", "must be >= 1");
    require(c.training.ema >= 0 && c.training.ema < 1, "training.ema", "must be in [0, 1)");
    require(c.training.warmup >= 0, "training.warmup", "must be >= 0");
}

}  // namespace

const char* to_string(ModelKind m) { return m == ModelKind::Aoup ? "aoup" : "abp"; }

const char* to_string(Interaction i) {
    switch (i) {
        case Interaction::Softplus: return "softplus";
        case Interaction::Hard: return "hard";
        case Interaction::Wca: return "wca";
        case Interaction::None: return "none";
    }
    return "?";
}

const char* to_string(NetworkArch a) { return a == NetworkArch::Fast ? "fast" : "paper"; }

const char* to_string(NetworkPrior p) {
    switch (p) {
        case NetworkPrior::Drift: return "drift";
        case NetworkPrior::Scaled: return "scaled";
        case NetworkPrior::Multiscale: return "multiscale";
        case NetworkPrior::None: return "none";
    }
    return "?";
}

const char* to_string(TrainingLoss l) { return l == TrainingLoss::Dsm ? "dsm" : "ism"; }

const char* to_string(LossBalance b) { return b == LossBalance::Blocks ? "blocks" : "none"; }
const char* to_string(PecletConvention c) { return c == PecletConvention::FixedSpeed ? "fixed_speed" : "fixed_rotation"; }

NetworkArch parse_network_arch(const std::string& s) {
    if (s == "fast") return NetworkArch::Fast;
    if (s == "paper") return NetworkArch::Paper;
    throw ConfigError("network.arch", "must be \"fast\" or \"paper\", got \"" + s + "\"");
}

NetworkPrior parse_network_prior(const std::string& s) {
    if (s == "drift") return NetworkPrior::Drift;
    if (s == "scaled") return NetworkPrior::Scaled;
    if (s == "multiscale") return NetworkPrior::Multiscale;
    if (s == "none") return NetworkPrior::None;
    throw ConfigError("network.prior", "must be \"drift\", \"scaled\", \"multiscale\" or \"none\", got \"" + s + "\"");
}

TrainingLoss parse_training_loss(const std::string& s) {
    if (s == "dsm") return TrainingLoss::Dsm;
    if (s == "ism") return TrainingLoss::Ism;
    throw ConfigError("training.loss", "must be \"dsm\" or \"ism\", got \"" + s + "\"");
}

LossBalance parse_loss_balance(const std::string& s) {
    if (s == "none") return LossBalance::None;
    if (s == "blocks") return LossBalance::Blocks;
    throw ConfigError("training.balance", "must be \"none\" or \"blocks\", got \"" + s + "\"");
}

double softplus_cutoff(double r0, double beta) {
    // softplus_beta(u) ~ exp(beta u)/beta for beta u << 0; equate to 1e-4 ln2/beta.
    return 2.0 * r0 - std::log(1e-4 * std::log(2.0)) / beta;
}

double Config::peclet() const {
    if (model == ModelKind::Aoup) return v0 / (2.0 * r0 * gamma);
    return D_r > 0 ? 3.0 * v0 / (sigma * D_r) : std::numeric_limits<double>::infinity();
}

double Config::v0_for_peclet(double pe) const {
    if (model == ModelKind::Aoup) return pe * 2.0 * r0 * gamma;
    return pe * sigma * D_r / 3.0;
}

namespace {
constexpr double kAbpSpeed = 24.0;  // Stenhammar et al.: v0 = 24 sigma/tau at unit mobility
}

Config Config::with_peclet(double pe) const {
    if (!(pe >= 0.0) || !std::isfinite(pe)) throw ConfigError("pe", "must be >= 0 and finite, got " + fmt(pe));
    Config c = *this;
    if (model == ModelKind::Aoup || pe_convention == PecletConvention::FixedRotation) {
        c.v0 = v0_for_peclet(pe);
    } else if (pe == 0.0) {
        c.v0 = 0.0;  // passive; D_r and D_t stay
    } else {
        const double speed = v0 > 0.0 ? v0 : kAbpSpeed;
        c.v0 = speed;
        c.D_r = 3.0 * speed / (sigma * pe);
        c.D_t = c.D_r * sigma * sigma / 3.0;
    }
    if (c.model == ModelKind::Abp && c.dt_auto) c.dt = c.abp_time_step();
    return c;
}

double Config::abp_time_step() const {
    double dt = std::numeric_limits<double>::infinity();
    // Written so that v0 = 24, sigma = 1 gives exactly 1e-4.
    if (v0 > 0.0) dt = std::min(dt, 1e-4 * sigma * (kAbpSpeed / v0));
    if (D_t > 0.0) dt = std::min(dt, 0.01 * 0.01 * sigma * sigma / (2.0 * D_t));
    // WCA's stiffness at contact (r = sigma) is 24 (26 - 7) = 456 eps/sigma^2;
    // a dense packing stays stable with dt at 1/20 of its inverse.
    if (interaction == Interaction::Wca) dt = std::min(dt, 0.05 * sigma * sigma / 456.0);
    for (const double k : trap_stiffness)
        if (k > 0.0) dt = std::min(dt, 0.01 / k);
    return std::isfinite(dt) ? dt : 1e-4;
}

double Config::particle_area() const {
    // AOUP: disks of radius r0; ABP: disks of diameter sigma (SPEC 1a/1b).
    return model == ModelKind::Aoup ? kPi * r0 * r0 : kPi * sigma * sigma / 4.0;
}

double Config::pair_cutoff() const {
    switch (interaction) {
        case Interaction::Softplus: return softplus_cutoff(r0, beta);
        case Interaction::Hard: return 2.0 * r0;
        case Interaction::Wca: return std::pow(2.0, 1.0 / 6.0) * sigma;
        case Interaction::None: return 0.0;
    }
    return 0.0;
}

double Config::trap_of(int i) const {
    if (trap_stiffness.empty()) return 0.0;
    return trap_stiffness[static_cast<std::size_t>(type_of(i))];
}

bool Config::has_trap() const {
    for (double a : trap_stiffness)
        if (a != 0.0) return true;
    return false;
}

void Config::finalize() {
    require(n >= 1 && n <= kMaxParticles, "n", "must be in [1, " + std::to_string(kMaxParticles) + "], got " + std::to_string(n));
    check_positive(r0, "r0");
    check_positive(sigma, "sigma");
    if (box_given) {
        require(std::isfinite(box) && box > 0, "box", "must be > 0, got " + fmt(box));
        phi = n * particle_area() / (box * box);
        require(phi <= kPhiMax, "box", "too small: packing fraction " + fmt(phi) + " exceeds " + fmt(kPhiMax));
    } else {
        require(phi > 0 && phi <= kPhiMax, "phi", "must be in (0, " + fmt(kPhiMax) + "], got " + fmt(phi));
        box = std::sqrt(n * particle_area() / phi);
    }
    check_positive(dt, "dt");
    check_nonnegative(v0, "v0");
    if (model == ModelKind::Aoup) {
        require(interaction != Interaction::Wca, "interaction", "\"wca\" is the ABP interaction; AOUP takes \"softplus\", \"hard\" or \"none\"");
        check_positive(gamma, "gamma");
        check_nonnegative(eps, "eps");
        check_nonnegative(k, "k");
        check_positive(beta, "beta");
    } else {
        require(interaction == Interaction::Wca || interaction == Interaction::None, "interaction",
                "ABP takes \"wca\" or \"none\", got \"" + std::string(to_string(interaction)) + "\"");
        check_nonnegative(D_t, "D_t");
        check_nonnegative(D_r, "D_r");
    }
    if (!types.empty()) {
        require(static_cast<int>(types.size()) == n, "types",
                "has " + std::to_string(types.size()) + " entries but n = " + std::to_string(n));
    }
    int max_type = 0;
    for (std::size_t i = 0; i < types.size(); ++i) {
        require(types[i] >= 0 && types[i] < 1024, "types[" + std::to_string(i) + "]", "must be in [0, 1024)");
        max_type = std::max(max_type, types[i]);
    }
    if (!trap_stiffness.empty()) {
        require(static_cast<int>(trap_stiffness.size()) > max_type, "trap_stiffness",
                "has " + std::to_string(trap_stiffness.size()) + " entries but types go up to " + std::to_string(max_type));
        for (std::size_t t = 0; t < trap_stiffness.size(); ++t)
            check_nonnegative(trap_stiffness[t], "trap_stiffness[" + std::to_string(t) + "]");
    }
    for (std::size_t s = 0; s < springs.size(); ++s) {
        const auto key = "springs[" + std::to_string(s) + "]";
        require(springs[s].i >= 0 && springs[s].i < n, key + "[0]", "particle " + std::to_string(springs[s].i) + " does not exist (n = " + std::to_string(n) + ")");
        require(springs[s].j >= 0 && springs[s].j < n, key + "[1]", "particle " + std::to_string(springs[s].j) + " does not exist (n = " + std::to_string(n) + ")");
        require(springs[s].i != springs[s].j, key, "joins a particle to itself");
        check_nonnegative(springs[s].kappa, key + "[2]");
    }
    validate_network_training(*this);
}

Config default_config(ModelKind model) {
    Config c;
    c.model = model;
    if (model == ModelKind::Abp) {
        // Stenhammar et al. convention: self-propulsion force 24 eps/sigma (v0 = 24 with
        // unit mobility) keeps WCA overlaps bounded; Pe is set through D_r.
        c.interaction = Interaction::Wca;
        c.v0 = kAbpSpeed;
        c.D_r = 3.0 * c.v0 / (c.sigma * 100.0);  // Pe = 100
        c.D_t = c.D_r * c.sigma * c.sigma / 3.0;
        c.dt = c.abp_time_step();
        c.dt_auto = true;
    }
    c.finalize();
    return c;
}

Config parse_config(const std::string& text) {
    json j;
    try {
        j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        throw ConfigError("", std::string("malformed JSON: ") + e.what());
    }
    if (!j.is_object()) throw ConfigError("", "the config must be a JSON object");
    check_keys(j, {"version", "model", "n", "phi", "box", "interaction", "v0", "pe", "gamma", "eps", "k", "beta",
                   "r0", "dt", "D_t", "D_r", "sigma", "pe_convention", "types", "trap_stiffness", "springs", "seed",
                   "network", "training"},
               "");
    if (j.contains("version")) {
        const auto v = get_integer(j["version"], "version");
        require(v == Config::kVersion, "version", "unsupported config version " + std::to_string(v) + " (this build reads version 1)");
    }
    ModelKind model = ModelKind::Aoup;
    if (j.contains("model")) {
        const auto m = get_string(j["model"], "model");
        if (m == "aoup") model = ModelKind::Aoup;
        else if (m == "abp") model = ModelKind::Abp;
        else throw ConfigError("model", "must be \"aoup\" or \"abp\", got \"" + m + "\"");
    }
    Config c;
    c.model = model;
    if (model == ModelKind::Abp) {
        c.interaction = Interaction::Wca;
        c.v0 = kAbpSpeed;
    }
    // Keys that belong to the other model are errors, not silently ignored.
    const std::set<std::string> aoup_only = {"gamma", "eps", "k", "beta", "r0"};
    const std::set<std::string> abp_only = {"D_t", "D_r", "sigma", "pe_convention"};
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (model == ModelKind::Aoup && abp_only.count(it.key())) throw ConfigError(it.key(), "is an ABP parameter; this config has model \"aoup\"");
        if (model == ModelKind::Abp && aoup_only.count(it.key())) throw ConfigError(it.key(), "is an AOUP parameter; this config has model \"abp\"");
    }
    if (j.contains("n")) {
        const auto n = get_integer(j["n"], "n");
        require(n >= 1 && n <= kMaxParticles, "n", "must be in [1, " + std::to_string(kMaxParticles) + "], got " + std::to_string(n));
        c.n = static_cast<int>(n);
    }
    if (j.contains("phi") && j.contains("box")) throw ConfigError("box", "give exactly one of \"phi\" and \"box\"");
    if (j.contains("phi")) c.phi = get_number(j["phi"], "phi");
    if (j.contains("box")) {
        c.box = get_number(j["box"], "box");
        c.box_given = true;
    }
    if (j.contains("interaction")) {
        const auto s = get_string(j["interaction"], "interaction");
        if (s == "softplus") c.interaction = Interaction::Softplus;
        else if (s == "hard") c.interaction = Interaction::Hard;
        else if (s == "wca") c.interaction = Interaction::Wca;
        else if (s == "none") c.interaction = Interaction::None;
        else throw ConfigError("interaction", "must be \"softplus\", \"hard\", \"wca\" or \"none\", got \"" + s + "\"");
    }
    auto num = [&](const char* key, double& dst) {
        if (j.contains(key)) dst = get_number(j[key], key);
    };
    num("gamma", c.gamma);
    num("eps", c.eps);
    num("k", c.k);
    num("beta", c.beta);
    num("r0", c.r0);
    num("dt", c.dt);
    num("sigma", c.sigma);
    if (model == ModelKind::Abp) {
        // D_r = 3 D_t / sigma^2 completes whichever of the two is missing.
        const bool has_dt = j.contains("D_t"), has_dr = j.contains("D_r");
        num("D_t", c.D_t);
        num("D_r", c.D_r);
        if (has_dt && !has_dr) c.D_r = 3.0 * c.D_t / (c.sigma * c.sigma);
        if (has_dr && !has_dt) c.D_t = c.D_r * c.sigma * c.sigma / 3.0;
        if (!has_dt && !has_dr) {
            c.D_r = 3.0 * kAbpSpeed / (c.sigma * 100.0);
            c.D_t = c.D_r * c.sigma * c.sigma / 3.0;
        }
        // Pe goes through the noise unless the config fixes the noise.
        c.pe_convention = has_dt || has_dr ? PecletConvention::FixedRotation : PecletConvention::FixedSpeed;
        if (j.contains("pe_convention")) {
            const auto conv = get_string(j["pe_convention"], "pe_convention");
            if (conv == "fixed_speed") c.pe_convention = PecletConvention::FixedSpeed;
            else if (conv == "fixed_rotation") c.pe_convention = PecletConvention::FixedRotation;
            else throw ConfigError("pe_convention", "must be \"fixed_speed\" or \"fixed_rotation\", got \"" + conv + "\"");
            if (c.pe_convention == PecletConvention::FixedSpeed && j.contains("pe") && (has_dt || has_dr))
                throw ConfigError("pe_convention", "\"fixed_speed\" sets D_r and D_t from pe; give pe without D_r and D_t, "
                                                   "or use \"fixed_rotation\"");
        }
    }
    if (j.contains("v0") && j.contains("pe")) throw ConfigError("pe", "give exactly one of \"v0\" and \"pe\"");
    num("v0", c.v0);
    if (j.contains("pe")) {
        const double pe = get_number(j["pe"], "pe");
        check_nonnegative(pe, "pe");
        check_positive(c.sigma, "sigma");
        check_positive(c.r0, "r0");
        c = c.with_peclet(pe);
    }
    if (j.contains("types")) {
        const auto& t = j["types"];
        if (!t.is_array()) throw ConfigError("types", "expected an array of integers");
        c.types.reserve(t.size());
        for (std::size_t i = 0; i < t.size(); ++i)
            c.types.push_back(static_cast<int>(get_integer(t[i], "types[" + std::to_string(i) + "]")));
    }
    if (j.contains("trap_stiffness")) {
        const auto& t = j["trap_stiffness"];
        if (t.is_number()) {
            c.trap_stiffness = {get_number(t, "trap_stiffness")};
        } else {
            if (!t.is_array()) throw ConfigError("trap_stiffness", "expected an array of numbers (one per type)");
            for (std::size_t i = 0; i < t.size(); ++i)
                c.trap_stiffness.push_back(get_number(t[i], "trap_stiffness[" + std::to_string(i) + "]"));
        }
    }
    if (j.contains("springs")) {
        const auto& s = j["springs"];
        if (!s.is_array()) throw ConfigError("springs", "expected an array of [i, j, kappa]");
        for (std::size_t k = 0; k < s.size(); ++k) {
            const auto key = "springs[" + std::to_string(k) + "]";
            if (!s[k].is_array() || s[k].size() != 3) throw ConfigError(key, "expected [i, j, kappa]");
            Spring sp;
            sp.i = static_cast<int>(get_integer(s[k][0], key + "[0]"));
            sp.j = static_cast<int>(get_integer(s[k][1], key + "[1]"));
            sp.kappa = get_number(s[k][2], key + "[2]");
            c.springs.push_back(sp);
        }
    }
    if (j.contains("seed")) {
        const auto& s = j["seed"];
        if (s.is_number_unsigned()) c.seed = s.get<std::uint64_t>();
        else {
            const auto v = get_integer(s, "seed");
            require(v >= 0, "seed", "must be a non-negative integer");
            c.seed = static_cast<std::uint64_t>(v);
        }
    }
    if (j.contains("network")) parse_network(j["network"], c.network);
    if (j.contains("training")) parse_training(j["training"], c.training);
    if (model == ModelKind::Abp && !j.contains("dt")) {
        c.dt = c.abp_time_step();
        c.dt_auto = true;
    }
    c.finalize();
    return c;
}

Config load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IoError("cannot open config file '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw IoError("cannot read config file '" + path + "'");
    return parse_config(ss.str());
}

std::string config_to_json(const Config& c, int indent) {
    json j;
    j["version"] = Config::kVersion;
    j["model"] = to_string(c.model);
    j["n"] = c.n;
    if (c.box_given) j["box"] = c.box;
    else j["phi"] = c.phi;
    j["interaction"] = to_string(c.interaction);
    j["v0"] = c.v0;
    j["dt"] = c.dt;
    if (c.model == ModelKind::Aoup) {
        j["gamma"] = c.gamma;
        j["eps"] = c.eps;
        j["k"] = c.k;
        j["beta"] = c.beta;
        j["r0"] = c.r0;
    } else {
        j["D_t"] = c.D_t;
        j["D_r"] = c.D_r;
        j["sigma"] = c.sigma;
        j["pe_convention"] = to_string(c.pe_convention);
    }
    if (!c.types.empty()) j["types"] = c.types;
    if (!c.trap_stiffness.empty()) j["trap_stiffness"] = c.trap_stiffness;
    if (!c.springs.empty()) {
        json s = json::array();
        for (const auto& sp : c.springs) s.push_back({sp.i, sp.j, sp.kappa});
        j["springs"] = s;
    }
    j["seed"] = c.seed;
    j["network"] = {{"arch", to_string(c.network.arch)}, {"k_neighbors", c.network.k_neighbors}, {"width", c.network.width},
                    {"layers", c.network.layers}, {"heads", c.network.heads}, {"cutoff", c.network.cutoff},
                    {"prior", to_string(c.network.prior)}};
    j["training"] = {{"loss", to_string(c.training.loss)}, {"sigma", c.training.sigma}, {"lr", c.training.lr},
                     {"batch", c.training.batch}, {"ema", c.training.ema}, {"warmup", c.training.warmup},
                     {"balance", to_string(c.training.balance)}};
    return j.dump(indent);
}

}  // namespace entroscope
