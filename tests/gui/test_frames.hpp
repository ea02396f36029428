#pragma once
// Frames built by hand for the render tests (offscreen images, vector
// figures): a dozen particles at fixed places, some across an edge, with
// learned values and gridded fields of exactly that state.
#include <cmath>
#include <limits>
#include <memory>

#include "entroscope/core/config.hpp"
#include "entroscope/core/state.hpp"
#include "entroscope/session/frame.hpp"

namespace entroscope::test {

using entroscope::Frame;
using entroscope::State;

// Twelve AOUP particles (r0 = 1) at fixed places in a box of 10, three of
// them across an edge or a corner (their periodic images show on the far
// side), angles spread round the circle; learned values of exactly this
// state: sigma_sq rising 0 .. 1.1 with one NaN, sigma_div from -1 to 1.2.
inline Frame fixed_frame(bool withLearned)
{
    Frame f;
    f.config = entroscope::default_config(entroscope::ModelKind::Aoup);
    f.config.n = 12;
    f.config.r0 = 1.0;
    f.physics_tag = 3;
    auto s = std::make_shared<State>();
    s->box = 10.0;
    const double xy[12][2] = {{2.0, 2.0}, {5.0, 1.8}, {8.0, 2.2}, {0.4, 5.0}, {3.5, 4.6}, {6.4, 5.2},
                              {2.2, 8.0}, {5.2, 7.6}, {9.5, 9.6}, {7.9, 7.3}, {4.9, 9.7}, {8.6, 4.0}};
    for (int i = 0; i < 12; ++i) {
        s->x.push_back(xy[i][0]);
        s->x.push_back(xy[i][1]);
        const double a = -3.14159265358979323846 + 2.0 * 3.14159265358979323846 * (i + 0.5) / 12.0;
        s->act.push_back(std::cos(a));
        s->act.push_back(std::sin(a));
        s->types.push_back(i % 3 == 0 ? 1 : 0);
    }
    s->image.assign(s->x.size(), 0);
    s->step = 500;
    s->time = 50.0;
    f.state = s;
    f.estimate = std::make_shared<entroscope::GlobalEstimate>();
    f.training.enabled = true;
    if (withLearned) {
        auto e = std::make_shared<entroscope::Evaluation>();
        e->state = s;
        e->physics_tag = f.physics_tag;
        e->network_step = 2000;
        e->with_divergence = true;
        for (int i = 0; i < 12; ++i) {
            e->sigma_sq.push_back(i == 4 ? std::numeric_limits<double>::quiet_NaN() : 0.1 * i);
            e->sigma_div.push_back(-1.0 + 0.2 * i);
        }
        f.learned = e;
    }
    return f;
}

// A 4 x 4 sigma field rising along x (0 .. 3 per row), its cell (1, 2)
// masked; a 4 x 4 current (3, 4) in every cell.
inline Frame field_frame()
{
    Frame f = fixed_frame(true);
    auto e = std::make_shared<entroscope::Evaluation>(*f.learned);
    entroscope::Field sigma;
    sigma.bins = 4;
    sigma.box = f.state->box;
    sigma.mask.assign(16, 0);
    for (int cy = 0; cy < 4; ++cy)
        for (int cx = 0; cx < 4; ++cx) sigma.value.push_back(static_cast<double>(cx));
    sigma.mask[2 * 4 + 1] = 1;
    sigma.value[2 * 4 + 1] = std::numeric_limits<double>::quiet_NaN();
    e->sigma = sigma;
    entroscope::Field j;
    j.bins = 4;
    j.box = f.state->box;
    j.components = 2;
    for (int k = 0; k < 16; ++k) {
        j.value.push_back(3.0);
        j.value.push_back(4.0);
    }
    e->current = j;
    f.learned = e;
    return f;
}

}  // namespace entroscope::test
