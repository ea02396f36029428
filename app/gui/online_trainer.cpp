#include "app/gui/online_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <utility>
#include <cmath>
#include <filesystem>
#include <limits>

#include "entroscope/core/errors.hpp"
#include "entroscope/learn/replay_buffer.hpp"
#include "entroscope/score/score_model.hpp"

namespace entroscope::gui {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Snapshots the buffer may hold: enough for variety, bounded in memory.
std::size_t bufferCapacity(const Config& cfg, std::size_t bytes)
{
    const std::size_t perSnapshot =
        static_cast<std::size_t>(cfg.n) * (sizeof(double) * (2 + cfg.active_dim()) + sizeof(std::int32_t) * 2 + sizeof(int));
    return std::clamp<std::size_t>(bytes / std::max<std::size_t>(perSnapshot, 1), 4, 64);
}

MeanSe perParticle(MeanSe m, int n)
{
    m.mean /= n;
    m.se /= n;
    return m;
}

constexpr std::size_t kLossWindow = 50;
// How often the counters (steps, loss) are republished between evaluations.
constexpr double kPublishSeconds = 0.5;

}  // namespace

OnlineTrainer::OnlineTrainer(Options opt)
    : opt_(std::move(opt)), latest_(std::make_shared<const LearnedEstimate>()), thread_([this] { run(); })
{
}

OnlineTrainer::~OnlineTrainer()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

OnlineTrainer::Command OnlineTrainer::physicsCommand(const Config& cfg, std::uint64_t tag, bool restart)
{
    OnlineTrainer::Command c;
    c.cfg = cfg;
    c.tag = tag;
    c.restart = restart;
    return c;
}

void OnlineTrainer::restart(const Config& cfg, std::uint64_t tag)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        commands_.push_back(physicsCommand(cfg, tag, true));
        // A new buffer at once: every later push belongs to the new system.
        buffer_ = std::make_shared<ReplayBuffer>(bufferCapacity(cfg, opt_.bufferBytes));
        buffer_->set_current_tag(tag);
        newest_.reset();
        newestTag_ = tag;
        sessionSteps_.store(0, std::memory_order_relaxed);
        // Nothing of the old system may be shown for the new one, even while
        // the trainer thread still finishes a step of the old model.
        auto placeholder = std::make_shared<LearnedEstimate>();
        placeholder->model = cfg.model;
        placeholder->n = cfg.n;
        placeholder->physicsTag = tag;
        placeholder->recentLoss = std::numeric_limits<double>::quiet_NaN();
        placeholder->source = "new network";
        placeholder->message = "Starting a new network for the new system.";
        latest_ = std::move(placeholder);
        restartPending_ = true;
    }
    wake_.notify_all();
}

void OnlineTrainer::setPhysics(const Config& cfg, std::uint64_t tag)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        commands_.push_back(physicsCommand(cfg, tag, false));
        if (buffer_) {
            buffer_->set_current_tag(tag);
        }
    }
    wake_.notify_all();
}

void OnlineTrainer::push(std::shared_ptr<const State> state, std::uint64_t tag)
{
    if (!state || state->n() == 0) {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!buffer_ || tag < newestTag_) {
            return;
        }
        try {
            buffer_->push(state, tag);
        } catch (const Error&) {
            return;  // a particle-less snapshot; nothing to learn from
        }
        newest_ = std::move(state);
        newestTag_ = tag;
    }
    wake_.notify_all();
}

void OnlineTrainer::saveModel(const std::string& path, Done done) { queueFile(true, path, std::move(done)); }

void OnlineTrainer::loadModel(const std::string& path, Done done) { queueFile(false, path, std::move(done)); }

void OnlineTrainer::queueFile(bool save, const std::string& path, Done done)
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        Command c;
        (save ? c.savePath : c.loadPath) = path;
        c.done = std::move(done);
        commands_.push_back(std::move(c));
    }
    wake_.notify_all();
}

std::shared_ptr<const LearnedEstimate> OnlineTrainer::latest() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return latest_;
}

void OnlineTrainer::setNotify(std::function<void()> notify)
{
    std::lock_guard<std::mutex> lock(mutex_);
    notify_ = std::move(notify);
}

// ---------------------------------------------------------------------------
// Trainer thread

void OnlineTrainer::run()
{
    try {
        // One intra-op thread: the simulation and the GUI share the CPU.
        set_network_threads(std::max(1, opt_.torchThreads));
    } catch (const Error&) {
    }
    Clock::time_point lastEval{};
    Clock::time_point lastPublish = Clock::now();
    // Steps per second over the last ~10 s, evaluations included: the rate
    // at which the model really improves.
    std::deque<std::pair<Clock::time_point, std::uint64_t>> rateSamples;
    bool evaluatedThisModel = false;
    double evalInterval = opt_.evalIntervalSeconds;

    for (;;) {
        std::vector<Command> commands;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            if (stop_) {
                return;
            }
            commands.swap(commands_);
            activeBuffer_ = buffer_;
        }
        for (const Command& c : commands) {
            applyCommand(c);
            if (c.restart || !c.loadPath.empty()) {
                evaluatedThisModel = false;
                rateSamples.clear();
            }
        }
        if (!commands.empty()) {
            publish();
        }

        bool worked = false;
        if (model_ && !est_.failed) {
            worked = trainOnce();
        }
        if (model_ && !est_.failed && worked) {
            const auto now = Clock::now();
            rateSamples.emplace_back(now, est_.sessionSteps);
            while (rateSamples.size() > 2 &&
                   std::chrono::duration<double>(now - rateSamples[1].first).count() > 10.0) {
                rateSamples.pop_front();
            }
            const double dt = std::chrono::duration<double>(now - rateSamples.front().first).count();
            if (dt > 1.0) {
                est_.stepsPerSecond = static_cast<double>(est_.sessionSteps - rateSamples.front().second) / dt;
            }
            // The first evaluation right after the first step, so that a
            // readout appears within seconds; then at the (stretched) interval.
            if (!evaluatedThisModel || secondsSince(lastEval) >= evalInterval) {
                const auto t0 = Clock::now();
                evaluate();
                lastEval = Clock::now();
                evaluatedThisModel = true;
                // Evaluating may take at most about half of the trainer's time.
                evalInterval = std::max(opt_.evalIntervalSeconds, secondsSince(t0));
                lastPublish = Clock::now();
            } else if (secondsSince(lastPublish) >= kPublishSeconds) {
                publish();
                lastPublish = Clock::now();
            }
        }
        if (!worked) {
            // Nothing to do (no snapshot yet, stopped on an error): sleep until
            // a command or a snapshot arrives.
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait_for(lock, std::chrono::milliseconds(100),
                           [this] { return stop_ || !commands_.empty() || (newest_ && !est_.failed); });
        }
    }
}

void OnlineTrainer::applyCommand(const Command& c)
{
    if (!c.savePath.empty() || !c.loadPath.empty()) {
        saveOrLoad(c);
        return;
    }
    if (c.restart) {
        tag_ = c.tag;
        buildModel(c.cfg);
        std::lock_guard<std::mutex> lock(mutex_);
        // A later restart queued meanwhile keeps its own placeholder.
        restartPending_ = std::any_of(commands_.begin(), commands_.end(), [](const Command& q) { return q.restart; });
        return;
    }
    if (c.tag < tag_) {
        return;
    }
    tag_ = c.tag;
    cfg_ = c.cfg;
    window_.clear();
    est_.evaluations = 0;
    est_.eprActive = est_.eprActiveDiv = est_.gap = est_.eprX = est_.eprActiveExact = MeanSe{};
    est_.physicsTag = tag_;
    if (!model_) {
        return;
    }
    try {
        model_->set_physics(c.cfg);
    } catch (const Error& e) {
        fail(std::string("Training stopped: ") + e.what());
    }
}

void OnlineTrainer::buildModel(const Config& cfg)
{
    cfg_ = cfg;
    model_.reset();
    rngState_ = 0x2545f4914f6cdd1dull ^ (cfg.seed * 0x9e3779b97f4a7c15ull);

    std::string note;
    std::string source;
    std::unique_ptr<ScoreModel> model;
    const std::string& path = opt_.pretrainedPath;
    std::error_code ec;
    if (!path.empty() && std::filesystem::exists(path, ec)) {
        const std::string name = std::filesystem::path(path).filename().string();
        std::string error;
        model = loadFitting(path, cfg, error);
        if (model) {
            source = "pretrained " + name;
            note = "Refining the pretrained model " + name + " online.";
        } else {
            note = "Pretrained model: " + error + "; training a fresh network.";
        }
    }
    if (!model) {
        try {
            model = std::make_unique<ScoreModel>(cfg);
            // A fresh network: a long cosine schedule (online training never
            // ends; the rate floors at 5% of the peak). A loaded one keeps its
            // own, so a finished schedule refines at the floor instead of
            // jumping back to the peak rate and undoing the pretraining.
            model->set_schedule_length(200000);
            source = "fresh network";
            if (note.empty()) {
                note = "Training a fresh network online.";
            }
        } catch (const std::exception& e) {
            install(nullptr, "", "");
            fail(std::string("Cannot build the score network: ") + e.what());
            return;
        }
    }
    install(std::move(model), source, note);
}

// A checkpoint that fits `cfg` (model kind, architecture), moved to the
// running physics (phi, Pe, N: the weights are per particle); null and the
// reason otherwise.
std::unique_ptr<ScoreModel> OnlineTrainer::loadFitting(const std::string& path, const Config& cfg, std::string& error) const
{
    const std::string name = std::filesystem::path(path).filename().string();
    try {
        ScoreModel loaded = ScoreModel::load(path, &cfg);
        loaded.set_physics(cfg);
        return std::make_unique<ScoreModel>(std::move(loaded));
    } catch (const ConfigError& e) {
        error = name + " does not fit this system (" + e.what() + ")";
    } catch (const std::exception& e) {
        error = "Cannot load " + name + " (" + e.what() + ")";
    }
    return nullptr;
}

// A new network for the running system: a new estimate window, a new
// generation (the window tells the models apart by it).
void OnlineTrainer::install(std::unique_ptr<ScoreModel> model, const std::string& source, const std::string& note)
{
    model_ = std::move(model);
    window_.clear();
    losses_.clear();
    sessionSteps_.store(0, std::memory_order_relaxed);
    ++generation_;
    est_ = LearnedEstimate{};
    est_.modelGeneration = generation_;
    est_.physicsTag = tag_;
    est_.model = cfg_.model;
    est_.n = cfg_.n;
    est_.recentLoss = std::numeric_limits<double>::quiet_NaN();
    est_.source = source;
    est_.message = note;
    if (model_) {
        est_.trainingSteps = model_->steps();
        est_.batch = std::min(model_->config().training.batch, cfg_.n);
    }
}

void OnlineTrainer::saveOrLoad(const Command& c)
{
    std::string error;
    if (!c.savePath.empty()) {
        if (!model_) {
            error = "there is no network yet";
        } else {
            try {
                model_->save(c.savePath);
                est_.message = "Saved the network (" + std::to_string(model_->steps()) + " training steps) to " +
                               std::filesystem::path(c.savePath).filename().string() + ".";
            } catch (const std::exception& e) {
                error = e.what();
            }
        }
    } else {
        auto model = loadFitting(c.loadPath, cfg_, error);
        if (model) {
            const std::string name = std::filesystem::path(c.loadPath).filename().string();
            install(std::move(model), "loaded " + name, "Refining the loaded model " + name + " online.");
        }
    }
    if (c.done) {
        c.done(error);
    }
}

bool OnlineTrainer::trainOnce()
{
    if (!activeBuffer_) {
        return false;
    }
    // xorshift64*: cheap, and the buffer only needs 64 random bits per draw.
    rngState_ ^= rngState_ >> 12;
    rngState_ ^= rngState_ << 25;
    rngState_ ^= rngState_ >> 27;
    const std::uint64_t bits = rngState_ * 0x2545f4914f6cdd1dull;
    std::optional<ReplayBuffer::Sample> sample;
    try {
        sample = activeBuffer_->sample(bits, std::max(1, est_.batch));
    } catch (const Error& e) {
        fail(std::string("Training stopped: ") + e.what());
        return false;
    }
    if (!sample || sample->state->n() != cfg_.n) {
        return false;
    }
    try {
        const TrainStats st = model_->train_step(*sample->state, sample->particles);
        losses_.push_back(st.loss);
        if (losses_.size() > kLossWindow) {
            losses_.erase(losses_.begin());
        }
        double sum = 0.0;
        for (double l : losses_) {
            sum += l;
        }
        est_.recentLoss = sum / static_cast<double>(losses_.size());
        est_.trainingSteps = st.step;
        est_.sessionSteps = sessionSteps_.fetch_add(1, std::memory_order_relaxed) + 1;
    } catch (const NumericalError& e) {
        fail(std::string("Training stopped (numerical): ") + e.what());
    } catch (const std::exception& e) {
        fail(std::string("Training stopped: ") + e.what());
    }
    return true;
}

void OnlineTrainer::evaluate()
{
    std::shared_ptr<const State> state;
    std::uint64_t tag = 0;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        state = newest_;
        tag = newestTag_;
    }
    // A snapshot of newer physics means a command is on its way; wait for it.
    if (!state || tag != tag_ || state->n() != cfg_.n) {
        publish();
        return;
    }
    const auto t0 = Clock::now();
    try {
        const ScoreOutput score = model_->infer(*state, true);
        ParticleEstimates e = estimate_particles(cfg_, *state, score);
        est_.evaluationSeconds = secondsSince(t0);
        est_.sigma = e.sigma_sq;
        est_.evaluatedAtTrainingStep = model_->steps();
        est_.evaluatedAtSimStep = state->step;
        est_.evaluatedAtTime = state->time;
        est_.xPart = e.x_part;
        est_.xNote = e.x_note;
        // The window keeps what the accumulator reads; the velocities are
        // the bulk of an estimate and are not needed again.
        std::vector<double>().swap(e.v_x);
        std::vector<double>().swap(e.v_act);
        window_.push_back(std::move(e));
        if (static_cast<int>(window_.size()) > std::max(1, opt_.window)) {
            window_.erase(window_.begin());
        }
        EstimatorAccumulator acc(cfg_.n);
        for (const ParticleEstimates& w : window_) {
            acc.add(w);
        }
        const EstimatorAccumulator::Summary sum = acc.summary(0);
        est_.evaluations = sum.snapshots;
        est_.eprActive = perParticle(sum.epr_active, cfg_.n);
        est_.eprActiveDiv = perParticle(sum.epr_active_div, cfg_.n);
        est_.gap = perParticle(sum.gap, cfg_.n);
        est_.eprX = perParticle(sum.epr_x, cfg_.n);
        est_.eprActiveExact = perParticle(sum.epr_active_exact, cfg_.n);
        est_.physicsTag = tag_;
    } catch (const NumericalError& e) {
        fail(std::string("Training stopped (numerical, while estimating): ") + e.what());
    } catch (const std::exception& e) {
        fail(std::string("Training stopped (while estimating): ") + e.what());
    }
    publish();
}

void OnlineTrainer::fail(const std::string& what)
{
    est_.failed = true;
    est_.message = what + " — the simulation goes on; Reset starts a fresh network.";
    publish();
}

void OnlineTrainer::publish()
{
    auto snap = std::make_shared<const LearnedEstimate>(est_);
    std::function<void()> notify;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (restartPending_) {
            return;  // still the old model; keep the placeholder
        }
        latest_ = std::move(snap);
        notify = notify_;
    }
    if (notify) {
        notify();
    }
}

}  // namespace entroscope::gui
