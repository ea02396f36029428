#pragma once
// The learned score s = grad log rho of the stationary density (SPEC §3-§4),
// behind a facade: no LibTorch type appears here, so Qt and CLI translation
// units never see torch headers.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/score/score_output.hpp"

namespace entroscope {

struct TrainStats {
    double loss = 0.0;
    double grad_norm = 0.0;  // before clipping
    double lr = 0.0;
    std::uint64_t step = 0;
};

// Threads of LibTorch's intra-op pool (process-wide).
void set_network_threads(int threads);
// Number of CUDA GPUs this build's LibTorch can use (0 for a CPU LibTorch).
int network_cuda_devices();
// Process-wide: let float32 matrix products on a CUDA GPU use TensorFloat-32
// (10-bit mantissa inputs, float32 accumulation; Ampere and newer), as
// PyTorch's torch.backends.cuda.matmul.allow_tf32. Off by default.
void set_network_tf32(bool on);

class ScoreModel {
public:
    // Builds the network of cfg.network for the physics of cfg (model kind,
    // number of particle types, whether a position score is learned) with
    // the optimiser of cfg.training. Weights are initialised from cfg.seed.
    // Throws ConfigError for an unusable network/training config.
    explicit ScoreModel(const Config& cfg);
    ~ScoreModel();
    ScoreModel(ScoreModel&&) noexcept;
    ScoreModel& operator=(ScoreModel&&) noexcept;

    std::int64_t parameter_count() const;
    bool has_position_score() const;
    const Config& config() const;
    std::uint64_t steps() const;
    // FNV-1a 64 of the raw bytes of the weights, then their buffers, then the
    // same of the EMA weights, in the network's registration order: one
    // number that says whether two models (same seed, a resumed run, a
    // loaded checkpoint) hold the same weights bit for bit, on any device.
    std::uint64_t weights_hash() const;
    // Total steps of the learning-rate schedule (warm-up + cosine decay).
    void set_schedule_length(std::uint64_t total_steps);

    // Where the network runs: "cpu" (the default) or "cuda" / "cuda:N" (a
    // LibTorch built with CUDA and a visible GPU). Moves the weights, the EMA
    // and the optimiser state; features are still built on the CPU and copied
    // once per snapshot. Throws ConfigError("device", ...) naming the problem
    // for an unknown or absent device. Checkpoints load on any device.
    void set_device(const std::string& device);
    std::string device() const;

    // Online training: the physics changed (slider); keep the weights (warm
    // start). Throws ConfigError when the architecture would have to change.
    void set_physics(const Config& cfg);

    // Score of every particle of a snapshot with the EMA weights.
    ScoreOutput infer(const State& s, bool with_divergence) const;
    // Same with the raw (non-EMA) weights: for tests of the averaging.
    ScoreOutput infer_raw(const State& s, bool with_divergence) const;

    // One optimiser step on the given particles of a snapshot (the loss of
    // cfg.training). Throws NumericalError on a non-finite loss, gradient or
    // updated weights; the weights are then left as they were before the step.
    TrainStats train_step(const State& s, const std::vector<int>& particles);

    // Checkpoint: a torch archive at `path` plus a JSON sidecar `path.json`
    // (config, versions, step, parameter count, FNV-1a 64 hash of the archive).
    // Both are written in full to temporary files, then renamed into place
    // (AtomicFile). Throws IoError.
    void save(const std::string& path) const;
    // Throws IoError for a missing, truncated or corrupt file (non-finite
    // weights included) and ConfigError when `expect` is given and the
    // architecture or model kind differ.
    static ScoreModel load(const std::string& path, const Config* expect = nullptr);

    struct Impl;
private:
    explicit ScoreModel(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace entroscope
