#include "entroscope/core/state.hpp"

namespace entroscope {

std::vector<double> State::unwrapped() const {
    std::vector<double> u(x.size());
    for (std::size_t k = 0; k < x.size(); ++k) u[k] = x[k] + static_cast<double>(image[k]) * box;
    return u;
}

}  // namespace entroscope
