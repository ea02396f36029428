#pragma once
// Figures of the plots and the phase diagram: a Qt Charts chart rendered
// offscreen at a chosen size (not a screen grab) into PNG, or as vectors
// into SVG or PDF (lines, bands, markers and axes as paths, text as text).
// The file is written through QSaveFile: a failure leaves no partial file
// at the target name.
#include <QSize>
#include <QString>

class QChart;
class QPainter;
class QRectF;

namespace entroscope::widgets {

// The format by the extension (.png, .svg, .pdf; case-insensitive). The
// chart is drawn at `size` pixels (PNG) or points (SVG, PDF) and given back
// as it was. False with `error` set (the path and the reason) on an unknown
// extension, an empty size, or a file that cannot be written.
bool save_chart_figure(QChart* chart, const QString& path, QSize size, const QString& title, QString* error);

// Draws the chart into `target` of an open painter (any device: an image,
// SVG, PDF), laid out at the target's size, with `title`; the chart is
// given back as it was. False when there is nothing to draw.
bool paint_chart(QChart* chart, QPainter& painter, const QRectF& target, const QString& title);

}  // namespace entroscope::widgets
