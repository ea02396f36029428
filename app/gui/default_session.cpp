#include "app/gui/default_session.hpp"

#include <QFile>

#include "entroscope/core/errors.hpp"

namespace entroscope::gui {

Config embedded_default_config() {
    QFile f(QStringLiteral(":/entroscope/default_session.json"));
    if (!f.open(QIODevice::ReadOnly)) throw IoError("the embedded default session is missing from this build");
    return parse_config(f.readAll().toStdString());
}

}  // namespace entroscope::gui
