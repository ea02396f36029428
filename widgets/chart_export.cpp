#include "widgets/chart_export.hpp"

#include <QFileInfo>
#include <QGraphicsScene>
#include <QImage>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QtCharts/QChart>

namespace entroscope::widgets {

bool paint_chart(QChart* chart, QPainter& painter, const QRectF& target, const QString& title) {
    if (!chart || !chart->scene() || !(target.width() >= 16.0) || !(target.height() >= 16.0)) return false;
    const QSizeF before = chart->size();
    const QString titleBefore = chart->title();
    chart->setTitle(title);
    chart->resize(target.size());
    chart->scene()->render(&painter, target, QRectF(chart->scenePos(), target.size()));
    chart->setTitle(titleBefore);
    chart->resize(before);
    return true;
}

bool save_chart_figure(QChart* chart, const QString& path, QSize size, const QString& title, QString* error) {
    const auto fail = [&](const QString& why) {
        if (error) *error = QStringLiteral("%1: %2").arg(path, why);
        return false;
    };
    if (!chart || !chart->scene()) return fail(QStringLiteral("nothing to draw"));
    if (size.width() < 16 || size.height() < 16 || size.width() > 20000 || size.height() > 20000)
        return fail(QStringLiteral("the size %1x%2 is outside 16-20000").arg(size.width()).arg(size.height()));
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext != QLatin1String("png") && ext != QLatin1String("svg") && ext != QLatin1String("pdf"))
        return fail(QStringLiteral("unknown format '.%1' (png, svg or pdf)").arg(ext));

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail(file.errorString());

    // Draw the chart at the figure's size, then give it back to its view.
    const QSizeF before = chart->size();
    const QString titleBefore = chart->title();
    chart->setTitle(title);
    chart->resize(QSizeF(size));
    const QRectF source(chart->scenePos(), QSizeF(size));
    const QRectF target(QPointF(0, 0), QSizeF(size));
    bool drawn = true;
    if (ext == QLatin1String("png")) {
        QImage image(size, QImage::Format_ARGB32);
        image.fill(Qt::white);
        {
            QPainter p(&image);
            p.setRenderHint(QPainter::Antialiasing);
            chart->scene()->render(&p, target, source);
        }
        drawn = image.save(&file, "PNG");
    } else if (ext == QLatin1String("svg")) {
        QSvgGenerator svg;
        svg.setOutputDevice(&file);
        svg.setSize(size);
        svg.setViewBox(target);
        svg.setTitle(title);
        svg.setDescription(QStringLiteral("Entroscope"));
        QPainter p;
        drawn = p.begin(&svg);
        if (drawn) {
            chart->scene()->render(&p, target, source);
            p.end();
        }
    } else {
        QPdfWriter pdf(&file);
        pdf.setTitle(title);
        pdf.setCreator(QStringLiteral("Entroscope"));
        pdf.setResolution(72);  // one point per pixel of the figure
        pdf.setPageSize(QPageSize(QSizeF(size), QPageSize::Point));
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
        QPainter p;
        drawn = p.begin(&pdf);
        if (drawn) {
            chart->scene()->render(&p, target, source);
            p.end();
        }
    }
    chart->setTitle(titleBefore);
    chart->resize(before);
    if (!drawn) {
        file.cancelWriting();
        return fail(QStringLiteral("cannot draw the figure"));
    }
    if (!file.commit()) return fail(file.errorString());
    return true;
}

}  // namespace entroscope::widgets
