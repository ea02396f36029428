// entroscope-cli: the headless front end of the engine (ARCHITECTURE.md, CLI).
// Exit codes: 0 success, 2 bad input (one-line reason on stderr), 1 internal failure.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "entroscope/core/errors.hpp"

namespace {

void usage(std::ostream& os) {
    os << "usage: entroscope-cli <command> [options]\n"
          "commands:\n"
          "  simulate  --config F --steps S [--burn-in B] [--out traj.h5] [--frames K] [--msd] [--threads T] [--json]\n"
          "  train     --config F --steps S --out MODEL.pt [--burn-in B] [--sample-every K] [--resume MODEL.pt] [--max-seconds T]\n"
          "            [--trajectory T.h5 (train on its frames; physics from T, network and training from F)]\n"
          "            [--device cpu|cuda [--tf32]] [--threads T] [--json]\n"
          "  estimate  --config F --model MODEL.pt --samples M [--per-particle] [--burn-in B] [--sample-every K] [--device cpu|cuda [--tf32]] [--json]\n"
          "  sweep     --config F (--phi LIST --pe LIST | --points \"phi,pe;...\") [--burn-in B] [--samples M] [--sample-every K]\n"
          "            [--steps S] [--train-steps T] [--model M.pt|none] [--threads T] [--out TABLE.csv|.jsonl] [--resume] [--only i/n] [--json]\n"
          "            LIST: a:b:count or v1,v2,...; a table of EPR and phase indicators per point, resumable\n"
          "  export    (--config F | --trajectory T.h5) --format h5md|xyz|vtk|csv --out PATH [--model M.pt|none]\n"
          "            [--frames K] [--stride S] [--burn-in B] [--bins B] [--threads T] [--json]\n"
          "            frames with the network's sigma_i, v_i, fields and the EPR series (docs/cli.md)\n"
          "  oracle    --config F [--json]           exact answers for a linear system\n"
          "  bench     --config F --steps S --threads T [--what simulate|train|infer] [--device cpu|cuda [--tf32]] [--json]\n"
          "  bench     --what render [--config F] [--size WxH] [--renders R] [--steps S] [--quantity angle|density|type]\n"
          "            offscreen renders per second (builds with VTK; needs an X display, e.g. xvfb-run)\n"
          "  render    [--config F | --trajectory T.h5 [--frame K]] [--view particles|field|current] [--quantity sigma|sigma_div|speed|angle|density|type]\n"
          "            [--model M.pt|none] (--out FIG.png [--size WxH | --dpi D --size-in|--size-mm WxH] [--transparent] | --movie OUT.mp4|DIR/\n"
          "            [--frames K] [--stride S] [--fps R] [--quality Q]) [--burn-in B] [--range a:b|first|auto] [--json]   (builds with VTK)\n"
          "common overrides: --n N --phi PHI --v0 V0 --pe PE --seed S --kind aoup|abp\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        usage(args.empty() ? std::cerr : std::cout);
        return args.empty() ? 2 : 0;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    try {
        return entroscope::cli::run_command(cmd, args);
    } catch (const entroscope::ConfigError& e) {
        std::cerr << "entroscope-cli " << cmd << ": " << e.what() << "\n";
        return 2;
    } catch (const entroscope::IoError& e) {
        std::cerr << "entroscope-cli " << cmd << ": " << e.what() << "\n";
        return 2;
    } catch (const entroscope::NumericalError& e) {
        std::cerr << "entroscope-cli " << cmd << ": " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "entroscope-cli " << cmd << ": internal error: " << e.what() << "\n";
        return 1;
    } catch (...) {
        std::cerr << "entroscope-cli " << cmd << ": internal error\n";
        return 1;
    }
}
