#include "widgets/phase_diagram.hpp"

#include <QAction>
#include <QComboBox>
#include <QFileDialog>
#include <QCursor>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QRubberBand>
#include <QSpinBox>
#include <QThread>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QLegend>
#include <QtCharts/QScatterSeries>
#include <QtCharts/QValueAxis>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "widgets/chart_export.hpp"
#include "widgets/parameter_panel.hpp"
#include "widgets/plot_history.hpp"

namespace entroscope::widgets {

namespace {

// matplotlib's viridis at ten even stops: the same sequential map as the
// views (render/ builds its VTK table from the same data).
const char* const kViridis[] = {"#440154", "#482878", "#3e4989", "#31688e", "#26828e",
                                "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"};
constexpr int kStops = 10;

QColor viridis(double t) {
    if (!std::isfinite(t)) return QColor(150, 150, 150);
    t = std::clamp(t, 0.0, 1.0) * (kStops - 1);
    const int i = std::min(kStops - 2, static_cast<int>(std::floor(t)));
    const double f = t - i;
    const QColor a(QString::fromLatin1(kViridis[i])), b(QString::fromLatin1(kViridis[i + 1]));
    return QColor::fromRgbF(a.redF() + f * (b.redF() - a.redF()), a.greenF() + f * (b.greenF() - a.greenF()),
                            a.blueF() + f * (b.blueF() - a.blueF()));
}

}  // namespace

// The value range of the colours, as a vertical bar.
class ColourBar : public QWidget {
public:
    explicit ColourBar(QWidget* parent) : QWidget(parent) { setMinimumWidth(64); }
    void set(double lo, double hi, const QString& title) {
        lo_ = lo;
        hi_ = hi;
        title_ = title;
        setToolTip(title);
        update();
    }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        const QRect bar(6, 20, 14, std::max(20, height() - 40));
        QLinearGradient g(bar.bottomLeft(), bar.topLeft());
        for (int i = 0; i < kStops; ++i) g.setColorAt(static_cast<double>(i) / (kStops - 1), QColor(QString::fromLatin1(kViridis[i])));
        p.fillRect(bar, g);
        p.setPen(palette().color(QPalette::WindowText));
        QFont f = font();
        f.setPointSizeF(std::max(6.5, f.pointSizeF() - 1.0));
        p.setFont(f);
        if (std::isfinite(lo_) && std::isfinite(hi_)) {
            p.drawText(bar.right() + 4, bar.top() + 8, QString::number(hi_, 'g', 3));
            p.drawText(bar.right() + 4, bar.bottom(), QString::number(lo_, 'g', 3));
        } else {
            p.drawText(bar.right() + 4, bar.center().y(), tr("no values"));
        }
    }

private:
    double lo_ = std::numeric_limits<double>::quiet_NaN(), hi_ = std::numeric_limits<double>::quiet_NaN();
    QString title_;
};

// A chart view where a drag selects a rectangle of the plane.
class PhaseChartView : public QChartView {
public:
    PhaseChartView(QChart* chart, QWidget* parent, std::function<void(const QRectF&)> selected)
        : QChartView(chart, parent), selected_(std::move(selected)) {}

protected:
    void mousePressEvent(QMouseEvent* e) override {
        if (e->button() == Qt::LeftButton) {
            origin_ = e->position().toPoint();
            if (!band_) band_ = new QRubberBand(QRubberBand::Rectangle, this);
            band_->setGeometry(QRect(origin_, QSize()));
            band_->show();
        }
        QChartView::mousePressEvent(e);
    }
    void mouseMoveEvent(QMouseEvent* e) override {
        if (band_ && band_->isVisible()) band_->setGeometry(QRect(origin_, e->position().toPoint()).normalized());
        QChartView::mouseMoveEvent(e);
    }
    void mouseReleaseEvent(QMouseEvent* e) override {
        if (band_ && band_->isVisible()) {
            band_->hide();
            const QRect r = QRect(origin_, e->position().toPoint()).normalized();
            // A click is not a selection (it may be a click on a point).
            if (r.width() > 8 && r.height() > 8 && selected_) {
                const QPointF a = chart()->mapToValue(mapToScene(r.bottomLeft()));
                const QPointF b = chart()->mapToValue(mapToScene(r.topRight()));
                selected_(QRectF(a, b).normalized());
            }
        }
        QChartView::mouseReleaseEvent(e);
    }

private:
    QRubberBand* band_ = nullptr;
    QPoint origin_;
    std::function<void(const QRectF&)> selected_;
};

PhaseDiagram::PhaseDiagram(QWidget* parent) : QWidget(parent) {
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);

    chart_ = new QChart();
    chart_->setMargins(QMargins(2, 2, 2, 2));
    chart_->setBackgroundRoundness(0);
    chart_->legend()->setAlignment(Qt::AlignTop);
    QFont small = font();
    small.setPointSizeF(std::max(6.5, small.pointSizeF() - 1.0));
    chart_->legend()->setFont(small);
    chart_->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);
    x_ = new QValueAxis(chart_);
    y_ = new QValueAxis(chart_);
    x_->setTitleText(tr("packing fraction φ"));
    y_->setTitleText(tr("Péclet number Pe"));
    for (QValueAxis* a : {x_, y_}) {
        a->setLabelsFont(small);
        a->setTitleFont(small);
    }
    x_->setRange(0.0, 1.0);
    x_->setTickCount(11);
    x_->setLabelFormat(QStringLiteral("%.1f"));
    y_->setRange(0.0, 300.0);
    y_->setTickCount(6);
    y_->setLabelFormat(QStringLiteral("%.0f"));
    chart_->addAxis(x_, Qt::AlignBottom);
    chart_->addAxis(y_, Qt::AlignLeft);
    const auto scatter = [&](const QString& name, QScatterSeries::MarkerShape shape, double size) {
        auto* s = new QScatterSeries(chart_);
        s->setName(name);
        s->setMarkerShape(shape);
        s->setMarkerSize(size);
        s->setColor(QColor(120, 120, 120));
        s->setBorderColor(QColor(30, 30, 30));
        chart_->addSeries(s);
        s->attachAxis(x_);
        s->attachAxis(y_);
        connect(s, &QScatterSeries::hovered, this, &PhaseDiagram::onHover);
        connect(s, &QScatterSeries::clicked, this, &PhaseDiagram::onClick);
        return s;
    };
    homogeneous_ = scatter(tr("homogeneous"), QScatterSeries::MarkerShapeCircle, 13.0);
    separated_ = scatter(tr("phase-separated"), QScatterSeries::MarkerShapeRectangle, 13.0);
    failed_ = scatter(tr("failed (blew up)"), QScatterSeries::MarkerShapeTriangle, 13.0);
    here_ = new QScatterSeries(chart_);
    here_->setName(tr("running now"));
    here_->setMarkerShape(QScatterSeries::MarkerShapeCircle);
    here_->setMarkerSize(22.0);
    here_->setColor(Qt::transparent);
    QPen ring(QColor(214, 39, 40));
    ring.setWidthF(2.5);
    here_->setPen(ring);
    chart_->addSeries(here_);
    here_->attachAxis(x_);
    here_->attachAxis(y_);

    view_ = new PhaseChartView(chart_, this, [this](const QRectF& r) { selectRectangle(r); });
    view_->setRenderHint(QPainter::Antialiasing);
    view_->setMinimumSize(260, 180);
    view_->setToolTip(tr("Hover a point for its numbers; click it to resume its state (or, for a table's row, to "
                         "move the sliders there); drag a rectangle to set the sweep's ranges."));
    layout->addWidget(view_, 3);
    view_->setContextMenuPolicy(Qt::ActionsContextMenu);
    auto* figure = new QAction(tr("Save figure (PNG, SVG, PDF)…"), view_);
    view_->addAction(figure);
    connect(figure, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save figure"), QStringLiteral("phase_diagram.pdf"),
                                                          tr("PDF (*.pdf);;SVG (*.svg);;PNG (*.png)"));
        QString error;
        if (!path.isEmpty() && !saveFigure(path, QSize(900, 600), &error)) setSweepMessage(error);
    });
    bar_ = new ColourBar(this);
    layout->addWidget(bar_);

    // The colour choice and the sweep form.
    auto* side = new QWidget(this);
    auto* sideLay = new QVBoxLayout(side);
    sideLay->setContentsMargins(4, 0, 4, 0);
    colourCombo_ = new QComboBox(side);
    const std::pair<PhaseColour, QString> colours[] = {
        {PhaseColour::EprActive, tr("learned active EPR")},
        {PhaseColour::EprTotal, tr("learned total EPR")},
        {PhaseColour::EprTotalNetworkFree, tr("network-free total EPR")},
        {PhaseColour::ClusterFraction, tr("largest dense cluster")},
        {PhaseColour::Bimodality, tr("density bimodality")},
    };
    for (const auto& [c, name] : colours) colourCombo_->addItem(name, static_cast<int>(c));
    connect(colourCombo_, QOverload<int>::of(&QComboBox::currentIndexChanged), this,
            [this](int) { setColourBy(static_cast<PhaseColour>(colourCombo_->currentData().toInt())); });
    auto* colourRow = new QHBoxLayout;
    colourRow->addWidget(new QLabel(tr("Colour by"), side));
    colourRow->addWidget(colourCombo_, 1);
    sideLay->addLayout(colourRow);

    auto* form = new QGroupBox(tr("Sweep"), side);
    auto* f = new QFormLayout(form);
    f->setContentsMargins(6, 4, 6, 4);
    f->setVerticalSpacing(2);
    const auto dspin = [&](double lo, double hi, double v, int decimals, double step) {
        auto* s = new QDoubleSpinBox(form);
        s->setRange(lo, hi);
        s->setDecimals(decimals);
        s->setSingleStep(step);
        s->setValue(v);
        return s;
    };
    const auto ispin = [&](int lo, int hi, int v, int step = 1) {
        auto* s = new QSpinBox(form);
        s->setRange(lo, hi);
        s->setSingleStep(step);
        s->setValue(v);
        return s;
    };
    const auto row = [&](QWidget* a, QWidget* b, QWidget* c) {
        auto* w = new QWidget(form);
        auto* h = new QHBoxLayout(w);
        h->setContentsMargins(0, 0, 0, 0);
        h->setSpacing(3);
        h->addWidget(a, 1);
        h->addWidget(new QLabel(QStringLiteral("–"), w));
        h->addWidget(b, 1);
        h->addWidget(new QLabel(QStringLiteral("×"), w));
        h->addWidget(c);
        return w;
    };
    phiFrom_ = dspin(ParameterPanel::kPhiMin, ParameterPanel::kPhiMax, 0.3, 3, 0.05);
    phiTo_ = dspin(ParameterPanel::kPhiMin, ParameterPanel::kPhiMax, 0.7, 3, 0.05);
    phiCount_ = ispin(1, 50, 3);
    peFrom_ = dspin(0.0, ParameterPanel::kPeMax, 50.0, 1, 10.0);
    peTo_ = dspin(0.0, ParameterPanel::kPeMax, 200.0, 1, 10.0);
    peCount_ = ispin(1, 50, 3);
    f->addRow(tr("φ"), row(phiFrom_, phiTo_, phiCount_));
    f->addRow(tr("Pe"), row(peFrom_, peTo_, peCount_));
    list_ = new QLineEdit(form);
    list_->setPlaceholderText(tr("or points: φ,Pe; φ,Pe; …"));
    f->addRow(tr("points"), list_);
    n_ = ispin(0, 65536, 1024, 256);
    n_->setSpecialValueText(tr("as running"));
    n_->setToolTip(tr("Particles per point (smaller runs faster; 0: the running system's N)."));
    burnIn_ = ispin(0, 100000000, 200000, 10000);
    samples_ = ispin(1, 1000, 10);
    sampleEvery_ = ispin(1, 10000000, 2000, 500);
    f->addRow(tr("N"), n_);
    f->addRow(tr("burn-in steps"), burnIn_);
    auto* meas = new QWidget(form);
    auto* mh = new QHBoxLayout(meas);
    mh->setContentsMargins(0, 0, 0, 0);
    mh->addWidget(samples_);
    mh->addWidget(new QLabel(tr("states, every"), meas));
    mh->addWidget(sampleEvery_);
    f->addRow(tr("measure"), meas);
    network_ = new QComboBox(form);
    network_->addItem(tr("the running network, not retrained"), static_cast<int>(SweepRequest::Network::Transfer));
    network_->addItem(tr("train it at each point"), static_cast<int>(SweepRequest::Network::TrainPerPoint));
    network_->addItem(tr("none: phase only (fast)"), static_cast<int>(SweepRequest::Network::None));
    network_->setToolTip(tr("The paper's protocol transfers one network to every point without retraining."));
    trainSteps_ = ispin(1, 10000000, 2000, 500);
    trainSteps_->setEnabled(false);
    connect(network_, QOverload<int>::of(&QComboBox::currentIndexChanged), this, [this](int) {
        trainSteps_->setEnabled(network_->currentData().toInt() == static_cast<int>(SweepRequest::Network::TrainPerPoint));
    });
    f->addRow(tr("network"), network_);
    f->addRow(tr("training steps"), trainSteps_);
    threads_ = ispin(1, std::max(1, QThread::idealThreadCount()), 1);
    threads_->setToolTip(tr("Points run at once, one core each; the live run shares the same cores."));
    f->addRow(tr("threads"), threads_);
    start_ = new QPushButton(tr("Start sweep"), form);
    cancel_ = new QPushButton(tr("Cancel"), form);
    cancel_->setEnabled(false);
    auto* buttons = new QWidget(form);
    auto* bh = new QHBoxLayout(buttons);
    bh->setContentsMargins(0, 0, 0, 0);
    bh->addWidget(start_);
    bh->addWidget(cancel_);
    f->addRow(buttons);
    progress_ = new QProgressBar(form);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setTextVisible(true);
    progress_->setFormat(QStringLiteral("%p %"));
    f->addRow(progress_);
    eta_ = new QLabel(form);
    f->addRow(eta_);
    sideLay->addWidget(form);
    message_ = new QLabel(side);
    message_->setWordWrap(true);
    message_->setFont(small);
    message_->setText(tr("Live points appear once the estimate window is full at fixed parameters. Phase rule: %1.")
                          .arg(QString::fromStdString(phase_criterion())));
    sideLay->addWidget(message_);
    sideLay->addStretch(1);
    side->setMinimumWidth(300);
    side->setMaximumWidth(420);
    layout->addWidget(side, 2);

    connect(start_, &QPushButton::clicked, this, &PhaseDiagram::startClicked);
    connect(cancel_, &QPushButton::clicked, this, [this] { Q_EMIT sweepCancelRequested(); });
    redraw();
}

PhaseDiagram::~PhaseDiagram() = default;

void PhaseDiagram::takeFrames(const std::shared_ptr<const Frame>& newest, const std::shared_ptr<const Frame>& learned) {
    if (!newest) return;
    bool changed = map_.take(*newest, learned.get());
    if (!haveModel_ || newest->config.model != model_) {
        haveModel_ = true;
        model_ = newest->config.model;
        changed = true;
    }
    const double phi = newest->config.phi, pe = newest->config.peclet();
    if (phi != herePhi_ || pe != herePe_) {
        herePhi_ = phi;
        herePe_ = pe;
        changed = true;
    }
    if (changed) redraw();
}

void PhaseDiagram::addSweepResult(const SweepResult& r, ModelKind model, int n) {
    map_.add(r, model, n);
    redraw();
}

void PhaseDiagram::addSweepPoint(const SweepResult& r, const Config& pointConfig) {
    map_.add(r, pointConfig);
    redraw();
}

void PhaseDiagram::setColourBy(PhaseColour c) {
    colour_ = c;
    const int at = colourCombo_->findData(static_cast<int>(c));
    if (at >= 0 && at != colourCombo_->currentIndex()) {
        const QSignalBlocker block(colourCombo_);
        colourCombo_->setCurrentIndex(at);
    }
    drawnRevision_ = ~std::uint64_t(0);
    redraw();
}

void PhaseDiagram::redraw() {
    shownIndex_ = map_.pointsOf(model_);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i : shownIndex_) {
        const double v = phase_value(map_.points()[i], colour_);
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    const bool range = lo <= hi;
    const auto scaled = [&](double v) {
        if (!range || !std::isfinite(v)) return std::numeric_limits<double>::quiet_NaN();
        return hi > lo ? (v - lo) / (hi - lo) : 0.5;
    };
    QList<QPointF> hom, sep, fail;
    std::vector<QColor> homC, sepC;
    double peMax = 0.0;
    for (std::size_t i : shownIndex_) {
        const PhasePoint& p = map_.points()[i];
        peMax = std::max(peMax, p.pe);
        if (p.failed) {
            fail.append(QPointF(p.phi, p.pe));
        } else if (p.phase.separated) {
            sep.append(QPointF(p.phi, p.pe));
            sepC.push_back(viridis(scaled(phase_value(p, colour_))));
        } else {
            hom.append(QPointF(p.phi, p.pe));
            homC.push_back(viridis(scaled(phase_value(p, colour_))));
        }
    }
    const auto fill = [](QScatterSeries* s, const QList<QPointF>& pts, const std::vector<QColor>& cs) {
        s->clearPointsConfiguration();
        s->replace(pts);
        for (int k = 0; k < static_cast<int>(cs.size()); ++k) s->setPointConfiguration(k, QXYSeries::PointConfiguration::Color, cs[static_cast<std::size_t>(k)]);
    };
    fill(homogeneous_, hom, homC);
    fill(separated_, sep, sepC);
    fill(failed_, fail, {});
    here_->replace(herePhi_ >= 0.0 ? QList<QPointF>{QPointF(herePhi_, herePe_)} : QList<QPointF>{});
    peMax = std::max(peMax, herePe_);
    // Five round steps up to a little above the highest Pe.
    const double step = roundUpNice(std::max(10.0, 1.08 * peMax) / 5.0);
    y_->setRange(0.0, 5.0 * step);
    shown_ = static_cast<int>(shownIndex_.size());
    bar_->set(range ? lo : std::nan(""), range ? hi : std::nan(""), QString::fromStdString(phase_colour_title(colour_, true)));
    drawnRevision_ = map_.revision();
}

std::ptrdiff_t PhaseDiagram::nearest(const QPointF& at) const {
    std::ptrdiff_t best = -1;
    double bestD = std::numeric_limits<double>::infinity();
    const double sx = std::max(1e-9, x_->max() - x_->min()), sy = std::max(1e-9, y_->max() - y_->min());
    for (std::size_t i : shownIndex_) {
        const PhasePoint& p = map_.points()[i];
        const double d = std::hypot((p.phi - at.x()) / sx, (p.pe - at.y()) / sy);
        if (d < bestD) {
            bestD = d;
            best = static_cast<std::ptrdiff_t>(i);
        }
    }
    return bestD < 0.05 ? best : -1;
}

QString PhaseDiagram::tooltip(std::size_t i) const {
    if (i >= map_.points().size()) return {};
    return QString::fromStdString(phase_point_summary(map_.points()[i]));
}

void PhaseDiagram::onHover(const QPointF& at, bool state) {
    if (!state) {
        QToolTip::hideText();
        return;
    }
    const std::ptrdiff_t i = nearest(at);
    if (i >= 0) QToolTip::showText(QCursor::pos(), tooltip(static_cast<std::size_t>(i)), view_);
}

void PhaseDiagram::onClick(const QPointF& at) {
    const std::ptrdiff_t i = nearest(at);
    if (i < 0) return;
    const PhasePoint& p = map_.points()[static_cast<std::size_t>(i)];
    if (p.resumable()) Q_EMIT pointResumeRequested(static_cast<std::size_t>(i));
    else Q_EMIT pointActivated(p.phi, p.pe);
}

void PhaseDiagram::selectRectangle(const QRectF& r) {
    phiFrom_->setValue(std::clamp(r.left(), ParameterPanel::kPhiMin, ParameterPanel::kPhiMax));
    phiTo_->setValue(std::clamp(r.right(), ParameterPanel::kPhiMin, ParameterPanel::kPhiMax));
    peFrom_->setValue(std::clamp(r.top(), 0.0, ParameterPanel::kPeMax));
    peTo_->setValue(std::clamp(r.bottom(), 0.0, ParameterPanel::kPeMax));
    list_->clear();
    setSweepMessage(tr("Sweep ranges set from the rectangle: φ %1–%2, Pe %3–%4.")
                        .arg(phiFrom_->value(), 0, 'f', 3)
                        .arg(phiTo_->value(), 0, 'f', 3)
                        .arg(peFrom_->value(), 0, 'f', 1)
                        .arg(peTo_->value(), 0, 'f', 1));
}

SweepRequest PhaseDiagram::request(QString* error) const {
    SweepRequest r;
    const auto fail = [&](const QString& e) {
        if (error) *error = e;
        r.points.clear();
        return r;
    };
    const QString text = list_->text().trimmed();
    if (!text.isEmpty()) {
        for (const QString& item : text.split(QLatin1Char(';'), Qt::SkipEmptyParts)) {
            const QStringList xy = item.split(QLatin1Char(','));
            bool okA = false, okB = false;
            const double phi = xy.value(0).trimmed().toDouble(&okA), pe = xy.value(1).trimmed().toDouble(&okB);
            if (xy.size() != 2 || !okA || !okB) return fail(tr("points: \"%1\" is not \"φ,Pe\"").arg(item.trimmed()));
            if (phi < ParameterPanel::kPhiMin || phi > ParameterPanel::kPhiMax)
                return fail(tr("points: φ = %1 is outside %2–%3").arg(phi).arg(ParameterPanel::kPhiMin).arg(ParameterPanel::kPhiMax));
            if (pe < 0.0 || pe > ParameterPanel::kPeMax) return fail(tr("points: Pe = %1 is outside 0–%2").arg(pe).arg(ParameterPanel::kPeMax));
            r.points.push_back({phi, pe});
        }
    } else {
        const auto axis = [](double a, double b, int n) {
            std::vector<double> v;
            for (int k = 0; k < n; ++k) v.push_back(n == 1 ? a : a + (b - a) * k / (n - 1));
            return v;
        };
        r.points = sweep_grid(axis(phiFrom_->value(), phiTo_->value(), phiCount_->value()),
                              axis(peFrom_->value(), peTo_->value(), peCount_->value()));
    }
    if (r.points.empty()) return fail(tr("no points to run"));
    r.n = n_->value();
    r.threads = threads_->value();
    r.network = static_cast<SweepRequest::Network>(network_->currentData().toInt());
    r.options.burn_in = static_cast<std::uint64_t>(burnIn_->value());
    r.options.samples = samples_->value();
    r.options.sample_every = static_cast<std::uint64_t>(sampleEvery_->value());
    r.options.network = r.network != SweepRequest::Network::None;
    r.options.train_steps = r.network == SweepRequest::Network::TrainPerPoint ? static_cast<std::uint64_t>(trainSteps_->value()) : 0;
    if (error) error->clear();
    return r;
}

void PhaseDiagram::startClicked() {
    QString error;
    const SweepRequest r = request(&error);
    if (r.points.empty()) {
        setSweepMessage(tr("Cannot start the sweep: %1").arg(error));
        return;
    }
    Q_EMIT sweepRequested(r);
}

void PhaseDiagram::setSweepRunning(bool running) {
    sweeping_ = running;
    start_->setEnabled(!running);
    cancel_->setEnabled(running);
    if (running) {
        sweepClock_.start();
        progress_->setValue(0);
        eta_->setText(tr("starting…"));
    }
}

void PhaseDiagram::setSweepProgress(double fraction) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    progress_->setValue(static_cast<int>(std::lround(1000.0 * fraction)));
    if (!sweeping_) return;
    const double elapsed = sweepClock_.isValid() ? sweepClock_.elapsed() / 1000.0 : 0.0;
    if (fraction > 0.01 && elapsed > 1.0) {
        const double left = elapsed * (1.0 - fraction) / fraction;
        eta_->setText(tr("%1 s elapsed, about %2 s left").arg(elapsed, 0, 'f', 0).arg(left, 0, 'f', 0));
    } else {
        eta_->setText(tr("%1 s elapsed").arg(elapsed, 0, 'f', 0));
    }
}

void PhaseDiagram::setSweepMessage(const QString& text) { message_->setText(text); }

bool PhaseDiagram::saveFigure(const QString& path, QSize size, QString* error) {
    redraw();
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (std::size_t i : shownIndex_) {
        const double v = phase_value(map_.points()[i], colour_);
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    // The colour bar is a widget beside the chart: its range goes into the title.
    const QString range = lo <= hi ? tr(" (viridis from %1 to %2)").arg(lo, 0, 'g', 4).arg(hi, 0, 'g', 4) : QString();
    const QString title = tr("%1 phase diagram, colour: %2%3")
                              .arg(model_ == ModelKind::Abp ? QStringLiteral("ABP") : QStringLiteral("AOUP"),
                                   QString::fromStdString(phase_colour_title(colour_, true)), range);
    return save_chart_figure(chart_, path, size, title, error);
}

}  // namespace entroscope::widgets
