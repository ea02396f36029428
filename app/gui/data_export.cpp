#include "app/gui/data_export.hpp"

#include <QFileInfo>
#include <QObject>

#include "entroscope/core/atomic_file.hpp"
#include "entroscope/io/export_frame.hpp"
#include "entroscope/io/h5md_export.hpp"
#include "entroscope/io/particle_csv.hpp"
#include "entroscope/io/vtk_xml.hpp"
#include "entroscope/io/xyz.hpp"
#include "entroscope/session/frame.hpp"

namespace entroscope::gui {

QStringList data_export_filters()
{
    return {QObject::tr("Extended XYZ, OVITO and ASE (*.xyz)"), QObject::tr("VTK particles, ParaView (*.vtp)"),
            QObject::tr("VTK fields, ParaView (*.vti)"), QObject::tr("VTK particles and fields, ParaView (*.pvd)"),
            QObject::tr("H5MD (*.h5 *.h5md)"), QObject::tr("CSV, one row per particle (*.csv)")};
}

QString export_state_data(const Frame& f, const QString& path, QString* note)
{
    if (!f.state) return QObject::tr("nothing to export yet: no state");
    const QString ext = QFileInfo(path).suffix().toLower();
    // Learned values only when they are of this very state.
    const Evaluation* learned = f.learned && f.learned->state == f.state ? f.learned.get() : nullptr;
    if (!learned && note) *note = QObject::tr("no learned values for this state yet: positions and active variables only");
    const ExportFrame ef{f.state.get(), learned};
    const std::string p = path.toStdString();
    try {
        if (ext == "xyz") {
            XyzWriter w(p, f.config);
            w.append(ef);
            w.close();
        } else if (ext == "vtp") {
            write_file_atomically(p, vtp_text(f.config, ef));
        } else if (ext == "vti") {
            if (!learned || learned->density.bins == 0)
                return QObject::tr("%1: this state has no fields (they are gridded at a network evaluation with the field "
                                   "view on)").arg(path);
            write_file_atomically(p, vti_text(*learned, f.state->time, f.state->step));
        } else if (ext == "pvd") {
            VtkSeriesWriter w(p, f.config);
            w.append(ef);
            w.close();
        } else if (ext == "csv") {
            ParticleCsvWriter w(p, f.config);
            w.append(ef);
            w.close();
        } else if (ext == "h5" || ext == "h5md") {
            H5mdWriter w(p, f.config, *f.state);
            append_h5md_frame(w, f.config, ef, learned ? f.estimate.get() : nullptr);
            w.set_parameter("export_source", "window: the state on screen");
            w.close();
        } else {
            return QObject::tr("%1: data are written as .xyz, .vtp, .vti, .pvd, .h5 or .csv").arg(path);
        }
    } catch (const std::exception& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace entroscope::gui
