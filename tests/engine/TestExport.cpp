// Data export (issue 17): Extended XYZ, VTK XML, CSV and H5MD files, read
// back by the readers their users have (ASE, VTK's Python readers, h5py,
// Python's csv), and `entroscope-cli export` with its bad conditions: an
// unwritable target, a full disk (a file size limit), a trajectory that ends
// early. The Python readers come from Debian (python3-ase, python3-vtk9,
// python3-h5py: packaging/install-deps.sh) and run as /usr/bin/python3; a
// test whose reader is missing skips and says which.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "entroscope/core/config.hpp"
#include "entroscope/core/errors.hpp"
#include "entroscope/io/export_frame.hpp"
#include "entroscope/io/h5md.hpp"
#include "entroscope/io/particle_csv.hpp"
#include "entroscope/io/vtk_xml.hpp"
#include "entroscope/io/xyz.hpp"

using namespace entroscope;
namespace fs = std::filesystem;

namespace {

// A small AOUP (2 active components) or ABP (1) system with awkward
// doubles: only an exact path brings them back equal.
Config small_config(ModelKind model) {
    Config cfg = default_config(model);
    cfg.n = 6;
    cfg.box = 10.0;
    cfg.box_given = true;
    cfg.types = {0, 1, 0, 2, 1, 0};
    cfg.finalize();
    return cfg;
}

State make_state(const Config& cfg, int f) {
    State s;
    s.box = cfg.box;
    s.step = 100u * static_cast<unsigned>(f) + 3;
    s.time = 0.1 * static_cast<double>(s.step);
    for (int i = 0; i < cfg.n; ++i) {
        s.types.push_back(cfg.type_of(i));
        s.x.push_back(std::fmod(1.0 / 3.0 + 1.37 * i + 0.731 * f, s.box));
        s.x.push_back(std::nextafter(s.box, 0.0) * (i + 1) / (cfg.n + 1.0));
        s.image.push_back(-3 * i + f);
        s.image.push_back(i * f - 2);
    }
    for (int i = 0; i < cfg.n * cfg.active_dim(); ++i) s.act.push_back(std::sin(0.3 * i + f) * M_PI);
    return s;
}

// Learned values and fields for a state (values made up, shapes real); cell
// 5 of the sigma field is masked (NaN).
Evaluation make_evaluation(const Config& cfg, const State& s, int f) {
    Evaluation e;
    const int n = cfg.n, d = cfg.active_dim();
    for (int i = 0; i < n; ++i) {
        e.sigma_sq.push_back(1.0 / 3.0 + i + f);
        e.sigma_div.push_back(-M_PI * i / 7.0);
        e.sigma_x.push_back(std::exp(-i - 0.5));
        e.v_x.push_back(0.1 * i - 1.0 / 9.0);
        e.v_x.push_back(-0.2 * i + f);
        for (int k = 0; k < d; ++k) e.v_act.push_back(std::cos(i + k + 0.25));
    }
    e.x_part = XPart::Finite;
    const int bins = 4;
    for (Field* fl : {&e.density, &e.sigma, &e.current}) {
        fl->bins = bins;
        fl->box = s.box;
        fl->components = fl == &e.current ? 2 : 1;
        fl->mask.assign(bins * bins, 0);
        for (int c = 0; c < bins * bins * fl->components; ++c) fl->value.push_back(std::sqrt(2.0 + c) / 3.0 + f);
    }
    e.sigma.mask[5] = 1;
    e.sigma.value[5] = std::nan("");
    return e;
}

struct Py {
    bool skipped = false;
    QString why;
    QJsonObject out;
};

// Runs a Python script under /usr/bin/python3 with argv[1:] = args; the
// script prints one JSON object (NaN written as the string "nan"). Exit 77
// means a reader module is missing.
Py python(const QString& script, const QStringList& args) {
    Py r;
    if (!QFile::exists("/usr/bin/python3")) {
        r.skipped = true;
        r.why = "no /usr/bin/python3";
        return r;
    }
    QProcess p;
    QStringList argv{"-c", script};
    argv += args;
    p.start("/usr/bin/python3", argv);
    p.waitForFinished(120000);
    const QByteArray err = p.readAllStandardError();
    if (p.exitCode() == 77) {
        r.skipped = true;
        r.why = QString::fromUtf8(p.readAllStandardOutput()).trimmed();
        return r;
    }
    const QByteArray out = p.readAllStandardOutput();
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0)
        qWarning("python failed (%d): %s", p.exitCode(), err.constData());
    r.out = QJsonDocument::fromJson(out).object();
    if (r.out.isEmpty()) qWarning("python printed no JSON: %s %s", out.constData(), err.constData());
    return r;
}

#define RUN_PY(var, script, ...)                                    \
    const Py var = python(script, QStringList __VA_ARGS__);         \
    /* The readers come with packaging/install-deps.sh: missing is a failure. */ \
    QVERIFY2(!var.skipped, qPrintable("reader missing (run packaging/install-deps.sh): " + var.why)); \
    QVERIFY(!var.out.isEmpty())

// Common Python prelude: imports (exit 77 naming a missing module) and a
// JSON printer that writes NaN as "nan".
const char* kPrelude = R"PY(
import sys, json, math, importlib
def need(mod):
    try:
        return importlib.import_module(mod)
    except ImportError as e:
        print("python3 module %s: %s" % (mod, e)); sys.exit(77)
def clean(x):
    if isinstance(x, float) and math.isnan(x): return "nan"
    if isinstance(x, (list, tuple)): return [clean(v) for v in x]
    if isinstance(x, dict): return {k: clean(v) for k, v in x.items()}
    if hasattr(x, "tolist"): return clean(x.tolist())
    return x
def emit(o): print(json.dumps(clean(o)))
)PY";

// Exact equality, NaN equal to "nan".
bool same(const QJsonValue& v, double x) {
    if (std::isnan(x)) return v.toString() == "nan";
    return v.isDouble() && v.toDouble() == x;
}

// The numbers of a (nested) JSON array, flattened in order.
void flatten(const QJsonValue& v, std::vector<QJsonValue>& out) {
    if (!v.isArray()) {
        out.push_back(v);
        return;
    }
    for (const auto& e : v.toArray()) flatten(e, out);
}
std::vector<QJsonValue> flat(const QJsonValue& v) {
    std::vector<QJsonValue> out;
    flatten(v, out);
    return out;
}

// `got` (flattened) equals `want`, exactly. Reports the first difference.
bool equal_values(const QJsonValue& got, const std::vector<double>& want, const char* what) {
    const auto g = flat(got);
    if (g.size() != want.size()) {
        qWarning("%s: %zu values, want %zu", what, g.size(), want.size());
        return false;
    }
    for (std::size_t i = 0; i < g.size(); ++i)
        if (!same(g[i], want[i])) {
            qWarning("%s[%zu]: got %s, want %.17g", what, i, QJsonDocument(QJsonArray{g[i]}).toJson(QJsonDocument::Compact).constData(), want[i]);
            return false;
        }
    return true;
}

std::vector<double> to_double(const std::vector<std::int32_t>& v) { return {v.begin(), v.end()}; }

// 2-vectors interleaved -> 3-vectors with z = 0.
std::vector<double> pad3(const std::vector<double>& v) {
    std::vector<double> o;
    for (std::size_t i = 0; i < v.size(); i += 2) o.insert(o.end(), {v[i], v[i + 1], 0.0});
    return o;
}

bool has_temporary_files(const fs::path& dir) {
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
    return false;
}

}  // namespace

class TestExport : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string file(const std::string& name) const { return (fs::path(dir_.path().toStdString()) / name).string(); }

    struct Cli {
        int code;
        QByteArray out, err;
    };
    // fsize_limit > 0: the CLI runs under RLIMIT_FSIZE of that many bytes,
    // with SIGXFSZ at its default action (killing): the CLI must ignore it
    // itself to fail cleanly.
    static Cli cli(const QStringList& args, rlim_t fsize_limit = 0) {
        QProcess p;
        if (fsize_limit > 0)
            p.setChildProcessModifier([fsize_limit] {
                struct rlimit rl{fsize_limit, fsize_limit};
                setrlimit(RLIMIT_FSIZE, &rl);
            });
        p.start(QStringLiteral(ENTROSCOPE_CLI), args);
        p.waitForFinished(300000);
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(), p.readAllStandardError()};
    }
    QString writeText(const std::string& name, const QByteArray& text) {
        const QString path = QString::fromStdString(file(name));
        QFile f(path);
        f.open(QIODevice::WriteOnly);
        f.write(text);
        return path;
    }
    // An ABP system the shipped network fits (its architecture), small enough for seconds.
    QString smallAbpConfig() {
        return writeText("abp.json", R"({"version":1,"model":"abp","n":128,"phi":0.5,"pe":100,"interaction":"wca","seed":5,
            "network":{"arch":"fast","k_neighbors":16,"width":64,"layers":3,"heads":4}})");
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(dir_.isValid()); }

    // ---- Extended XYZ ------------------------------------------------------

    void xyzSeriesReadsInAseWithCellPbcPositionsAndEveryProperty() {
        const Config cfg = small_config(ModelKind::Aoup);
        const std::string path = file("series.xyz");
        std::vector<State> states;
        std::vector<Evaluation> evals;
        for (int f = 0; f < 3; ++f) {
            states.push_back(make_state(cfg, f));
            evals.push_back(make_evaluation(cfg, states.back(), f));
        }
        {
            XyzWriter w(path, cfg);
            for (int f = 0; f < 3; ++f) w.append({&states[f], &evals[f]});
            QVERIFY(!fs::exists(path));  // nothing at PATH before close()
            w.close();
        }
        RUN_PY(py, QString(kPrelude) + R"PY(
ase_io = need("ase.io")
frames = ase_io.read(sys.argv[1], index=":")
emit({"frames": [{"cell": f.cell.array, "pbc": f.pbc, "positions": f.positions, "symbols": f.get_chemical_symbols(),
                  "info": {k: v for k, v in f.info.items()},
                  "arrays": {k: v for k, v in f.arrays.items() if k not in ("numbers", "positions")}} for f in frames]})
)PY", {QString::fromStdString(path)});
        const QJsonArray frames = py.out["frames"].toArray();
        QCOMPARE(frames.size(), 3);
        for (int f = 0; f < 3; ++f) {
            const QJsonObject fr = frames[f].toObject();
            const State& s = states[f];
            const Evaluation& e = evals[f];
            QVERIFY(equal_values(fr["cell"], {s.box, 0, 0, 0, s.box, 0, 0, 0, 1}, "cell"));
            QCOMPARE(fr["pbc"].toArray(), (QJsonArray{true, true, false}));
            QVERIFY(equal_values(fr["positions"], pad3(s.x), "positions"));
            QCOMPARE(fr["info"].toObject()["Step"].toInt(), static_cast<int>(s.step));
            QVERIFY(same(fr["info"].toObject()["Time"], s.time));
            const QJsonObject a = fr["arrays"].toObject();
            QCOMPARE(a.keys(), (QStringList{"g", "image", "sigma_div", "sigma_sq", "sigma_x", "type", "v_act", "v_x"}));
            QVERIFY(equal_values(a["image"], to_double(s.image), "image"));
            QVERIFY(equal_values(a["type"], to_double(s.types), "type"));
            QVERIFY(equal_values(a["g"], s.act, "g"));
            QVERIFY(equal_values(a["sigma_sq"], e.sigma_sq, "sigma_sq"));
            QVERIFY(equal_values(a["sigma_div"], e.sigma_div, "sigma_div"));
            QVERIFY(equal_values(a["sigma_x"], e.sigma_x, "sigma_x"));
            QVERIFY(equal_values(a["v_x"], e.v_x, "v_x"));
            QVERIFY(equal_values(a["v_act"], e.v_act, "v_act"));
        }
    }

    void xyzWithoutANetworkHoldsPositionsAndTheActiveVariableOnly() {
        const Config cfg = small_config(ModelKind::Abp);
        const std::string path = file("plain.xyz");
        const State s = make_state(cfg, 1);
        XyzWriter w(path, cfg);
        w.append({&s, nullptr});
        w.close();
        RUN_PY(py, QString(kPrelude) + R"PY(
ase_io = need("ase.io")
f = ase_io.read(sys.argv[1], index=":")[0]
emit({"keys": sorted(k for k in f.arrays if k not in ("numbers", "positions")), "theta": f.arrays["theta"]})
)PY", {QString::fromStdString(path)});
        QCOMPARE(py.out["keys"].toArray(), (QJsonArray{"image", "theta", "type"}));
        QVERIFY(equal_values(py.out["theta"], s.act, "theta"));
    }

    void framesWithOtherColumnsOrOtherSystemsAreRefused() {
        const Config cfg = small_config(ModelKind::Aoup);
        const State s = make_state(cfg, 0);
        const Evaluation e = make_evaluation(cfg, s, 0);
        XyzWriter w(file("mixed.xyz"), cfg);
        w.append({&s, &e});
        QVERIFY_EXCEPTION_THROWN(w.append({&s, nullptr}), IoError);  // a series keeps its columns
        const Config other = small_config(ModelKind::Abp);
        const State t = make_state(other, 0);
        QVERIFY_EXCEPTION_THROWN(w.append({&t, nullptr}), IoError);  // another active width
        Evaluation wrong = e;
        wrong.sigma_sq.pop_back();
        QVERIFY_EXCEPTION_THROWN(w.append({&s, &wrong}), IoError);
        QVERIFY_EXCEPTION_THROWN(XyzWriter(file("no/such/dir/a.xyz"), cfg), IoError);
    }

    // ---- VTK XML -------------------------------------------------------------

    void vtkSeriesReadsInVtkWithEveryQuantityByName() {
        const Config cfg = small_config(ModelKind::Abp);
        const std::string pvd = file("series.pvd");
        std::vector<State> states;
        std::vector<Evaluation> evals;
        for (int f = 0; f < 2; ++f) {
            states.push_back(make_state(cfg, f));
            evals.push_back(make_evaluation(cfg, states.back(), f));
        }
        {
            VtkSeriesWriter w(pvd, cfg);
            for (int f = 0; f < 2; ++f) w.append({&states[f], &evals[f]});
            QVERIFY(!fs::exists(pvd));
            QVERIFY(!fs::exists(file("series_particles_000000.vtp")));  // nothing before close()
            w.close();
            QCOMPARE(w.files().size(), std::size_t(5));
        }
        // vtkPVDReader is ParaView's: parse the collection and read each file with VTK.
        RUN_PY(py, QString(kPrelude) + R"PY(
import os, xml.etree.ElementTree as ET
vtk = need("vtk")
from vtk.util.numpy_support import vtk_to_numpy
root = ET.parse(sys.argv[1]).getroot()
assert root.get("type") == "Collection"
out = {"datasets": []}
for ds in root.iter("DataSet"):
    path = os.path.join(os.path.dirname(sys.argv[1]), ds.get("file"))
    r = vtk.vtkXMLPolyDataReader() if path.endswith(".vtp") else vtk.vtkXMLImageDataReader()
    r.SetFileName(path); r.Update()
    o = r.GetOutput()
    pd = o.GetPointData()
    d = {"file": ds.get("file"), "part": ds.get("part"), "timestep": float(ds.get("timestep")), "points": o.GetNumberOfPoints(),
         "arrays": {pd.GetArrayName(i): {"components": pd.GetArray(i).GetNumberOfComponents(),
                                         "values": vtk_to_numpy(pd.GetArray(i)).ravel()} for i in range(pd.GetNumberOfArrays())},
         "field": {o.GetFieldData().GetArrayName(i): vtk_to_numpy(o.GetFieldData().GetArray(i)).ravel()
                   for i in range(o.GetFieldData().GetNumberOfArrays())}}
    if path.endswith(".vtp"):
        d["xyz"] = vtk_to_numpy(o.GetPoints().GetData()).ravel()
        d["verts"] = o.GetNumberOfVerts()
    else:
        d["dims"] = o.GetDimensions(); d["origin"] = o.GetOrigin(); d["spacing"] = o.GetSpacing()
    out["datasets"].append(d)
emit(out)
)PY", {QString::fromStdString(pvd)});
        const QJsonArray ds = py.out["datasets"].toArray();
        QCOMPARE(ds.size(), 4);
        for (int f = 0; f < 2; ++f) {
            const State& s = states[f];
            const Evaluation& e = evals[f];
            const QJsonObject p = ds[2 * f].toObject();
            const QJsonObject g = ds[2 * f + 1].toObject();
            QCOMPARE(p["part"].toString(), QString("0"));
            QCOMPARE(g["part"].toString(), QString("1"));
            QVERIFY(same(p["timestep"], s.time));
            QVERIFY(same(g["timestep"], s.time));
            // Particles: points (z = 0), one vertex each, point data by name.
            QCOMPARE(p["points"].toInt(), cfg.n);
            QCOMPARE(p["verts"].toInt(), cfg.n);
            QVERIFY(equal_values(p["xyz"], pad3(s.x), "points"));
            const QJsonObject a = p["arrays"].toObject();
            QCOMPARE(a.keys(), (QStringList{"image", "sigma_div", "sigma_sq", "sigma_x", "species", "theta", "v_act", "v_x"}));
            QVERIFY(equal_values(a["species"].toObject()["values"], to_double(s.types), "species"));
            QVERIFY(equal_values(a["image"].toObject()["values"], to_double(s.image), "image"));
            QVERIFY(equal_values(a["theta"].toObject()["values"], s.act, "theta"));
            QVERIFY(equal_values(a["sigma_sq"].toObject()["values"], e.sigma_sq, "sigma_sq"));
            QVERIFY(equal_values(a["sigma_div"].toObject()["values"], e.sigma_div, "sigma_div"));
            QVERIFY(equal_values(a["sigma_x"].toObject()["values"], e.sigma_x, "sigma_x"));
            QCOMPARE(a["v_x"].toObject()["components"].toInt(), 3);
            QVERIFY(equal_values(a["v_x"].toObject()["values"], pad3(e.v_x), "v_x"));
            QVERIFY(equal_values(a["v_act"].toObject()["values"], e.v_act, "v_act"));
            QVERIFY(equal_values(p["field"].toObject()["TimeValue"], {s.time}, "TimeValue"));
            QVERIFY(equal_values(p["field"].toObject()["Step"], {static_cast<double>(s.step)}, "Step"));
            // Fields: a point per cell centre, NaN where masked.
            const double h = s.box / 4;
            QCOMPARE(g["dims"].toArray(), (QJsonArray{4, 4, 1}));
            QVERIFY(equal_values(g["origin"], {h / 2, h / 2, 0}, "origin"));
            QVERIFY(equal_values(g["spacing"], {h, h, 1}, "spacing"));
            const QJsonObject ga = g["arrays"].toObject();
            QCOMPARE(ga.keys(), (QStringList{"current", "density", "mask", "sigma"}));
            QVERIFY(equal_values(ga["density"].toObject()["values"], e.density.value, "density"));
            QVERIFY(equal_values(ga["sigma"].toObject()["values"], e.sigma.value, "sigma"));
            QVERIFY(equal_values(ga["mask"].toObject()["values"], to_double(std::vector<std::int32_t>(e.sigma.mask.begin(), e.sigma.mask.end())), "mask"));
            QVERIFY(equal_values(ga["current"].toObject()["values"], pad3(e.current.value), "current"));
        }
    }

    void vtkSeriesWithoutCloseLeavesNoFiles() {
        const fs::path sub = file("abandoned");
        fs::create_directory(sub);
        const Config cfg = small_config(ModelKind::Aoup);
        const State s = make_state(cfg, 0);
        const Evaluation e = make_evaluation(cfg, s, 0);
        {
            VtkSeriesWriter w((sub / "a.pvd").string(), cfg);
            w.append({&s, &e});
        }
        QVERIFY(fs::is_empty(sub));
        QVERIFY_EXCEPTION_THROWN(VtkSeriesWriter(file("a.vtp"), cfg), IoError);  // a series is a .pvd
    }

    // ---- CSV -----------------------------------------------------------------

    void csvTableReadsInPythonWithOneRowPerParticleAndFrame() {
        const Config cfg = small_config(ModelKind::Aoup);
        const std::string path = file("table.csv");
        std::vector<State> states{make_state(cfg, 0), make_state(cfg, 1)};
        std::vector<Evaluation> evals{make_evaluation(cfg, states[0], 0), make_evaluation(cfg, states[1], 1)};
        ParticleCsvWriter w(path, cfg);
        for (int f = 0; f < 2; ++f) w.append({&states[f], &evals[f]});
        w.close();
        RUN_PY(py, QString(kPrelude) + R"PY(
import csv
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
emit({"header": list(rows[0].keys()), "rows": [{k: float(v) for k, v in r.items()} for r in rows]})
)PY", {QString::fromStdString(path)});
        QCOMPARE(py.out["header"].toArray(),
                 (QJsonArray{"frame", "step", "time", "id", "species", "x", "y", "image_x", "image_y", "g_x", "g_y", "sigma_sq",
                             "sigma_div", "sigma_x", "v_x_x", "v_x_y", "v_act_x", "v_act_y"}));
        const QJsonArray rows = py.out["rows"].toArray();
        QCOMPARE(rows.size(), 2 * cfg.n);
        for (int f = 0; f < 2; ++f)
            for (int i = 0; i < cfg.n; ++i) {
                const QJsonObject r = rows[f * cfg.n + i].toObject();
                const std::size_t u = static_cast<std::size_t>(i);
                QVERIFY(same(r["frame"], f));
                QVERIFY(same(r["step"], static_cast<double>(states[f].step)));
                QVERIFY(same(r["time"], states[f].time));
                QVERIFY(same(r["id"], i));
                QVERIFY(same(r["species"], states[f].types[u]));
                QVERIFY(same(r["x"], states[f].x[2 * u]));
                QVERIFY(same(r["y"], states[f].x[2 * u + 1]));
                QVERIFY(same(r["image_y"], states[f].image[2 * u + 1]));
                QVERIFY(same(r["g_y"], states[f].act[2 * u + 1]));
                QVERIFY(same(r["sigma_sq"], evals[f].sigma_sq[u]));
                QVERIFY(same(r["sigma_div"], evals[f].sigma_div[u]));
                QVERIFY(same(r["v_x_x"], evals[f].v_x[2 * u]));
                QVERIFY(same(r["v_act_y"], evals[f].v_act[2 * u + 1]));
            }
    }

    // ---- the CLI -------------------------------------------------------------

    void cliExportsH5mdWithTheNetworksColumnsObservablesAndHash() {
        const QString cfg = smallAbpConfig();
        const std::string out = file("cli.h5");
        const auto r = cli({"export", "--config", cfg, "--format", "h5md", "--out", QString::fromStdString(out), "--frames", "3",
                            "--stride", "20", "--burn-in", "100", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QVERIFY(o["learned"].toBool());
        QCOMPARE(o["frames"].toInt(), 3);
        QVERIFY(o["model"].toString().endsWith("default_fast.pt"));
        const QString weights = o["network_weights_fnv1a64"].toString();
        QCOMPARE(weights.size(), 16);
        RUN_PY(py, QString(kPrelude) + R"PY(
h5py = need("h5py")
f = h5py.File(sys.argv[1], "r")
a = f["particles/all"]
s = lambda x: x.decode() if isinstance(x, bytes) else x
emit({"position": a["position/value"][()], "image": a["image/value"][()], "sigma_sq": a["sigma_sq/value"][()],
      "sigma_div_shape": a["sigma_div/value"].shape, "v_x_shape": a["v_x/value"].shape, "v_act_shape": a["v_act/value"].shape,
      "steps": a["position/step"][()], "sigma_steps": a["sigma_sq/step"][()],
      "boundary": [s(b) for b in a["box"].attrs["boundary"]],
      "epr": f["observables/epr_active/value"][()], "estimate": f["observables/epr_active_estimate/value"][()],
      "estimate_components": [s(c) for c in f["observables/epr_active_estimate"].attrs["components"]],
      "parameters": {k: s(v) for k, v in f["parameters"].attrs.items() if k != "seed"}})
)PY", {QString::fromStdString(out)});
        // h5py's values against the engine's own reader: the same file, read twice.
        const Trajectory t = read_h5md(out);
        QCOMPARE(t.frames.size(), std::size_t(3));
        QCOMPARE(t.frames[0].step, std::uint64_t(100));
        QCOMPARE(t.frames[2].step, std::uint64_t(140));
        std::vector<double> pos, img, sig;
        for (const State& s : t.frames) {
            pos.insert(pos.end(), s.x.begin(), s.x.end());
            img.insert(img.end(), s.image.begin(), s.image.end());
        }
        const auto sq = std::find_if(t.per_particle.begin(), t.per_particle.end(), [](const auto& p) { return p.name == "sigma_sq"; });
        QVERIFY(sq != t.per_particle.end());
        for (const auto& v : sq->values) sig.insert(sig.end(), v.begin(), v.end());
        QVERIFY(equal_values(py.out["position"], pos, "position"));
        QVERIFY(equal_values(py.out["image"], img, "image"));
        QVERIFY(equal_values(py.out["sigma_sq"], sig, "sigma_sq"));
        QCOMPARE(py.out["sigma_div_shape"].toArray(), (QJsonArray{3, 128, 1}));
        QCOMPARE(py.out["v_x_shape"].toArray(), (QJsonArray{3, 128, 2}));
        QCOMPARE(py.out["v_act_shape"].toArray(), (QJsonArray{3, 128, 1}));
        QCOMPARE(py.out["sigma_steps"].toArray(), py.out["steps"].toArray());
        QCOMPARE(py.out["boundary"].toArray(), (QJsonArray{"periodic", "periodic"}));
        // sigma_i is the network's: positive, and its frame mean is the EPR observable.
        double mean0 = 0.0;
        for (int i = 0; i < 128; ++i) {
            QVERIFY(sq->values[0][static_cast<std::size_t>(i)] >= 0.0);
            mean0 += sq->values[0][static_cast<std::size_t>(i)] / 128;
        }
        QVERIFY(mean0 > 0.0);
        QVERIFY(std::fabs(py.out["epr"].toArray()[0].toDouble() - mean0) < 1e-12 * mean0);
        QCOMPARE(py.out["estimate"].toArray().size(), 3);
        QCOMPARE(py.out["estimate_components"].toArray(), (QJsonArray{"mean", "se"}));
        const QJsonArray last = py.out["estimate"].toArray()[2].toArray();
        QVERIFY(same(last[0], o["epr_active"].toObject()["mean"].toDouble()));
        QVERIFY(last[1].toDouble() > 0.0);
        const QJsonObject par = py.out["parameters"].toObject();
        QCOMPARE(par["network_weights_fnv1a64"].toString(), weights);
        QCOMPARE(par["network_archive_fnv1a64"].toString(), o["network_archive_fnv1a64"].toString());
        QCOMPARE(par["network_archive_fnv1a64"].toString().size(), 16);
        QVERIFY(par["network_checkpoint"].toString().endsWith("default_fast.pt"));
        QCOMPARE(par["model"].toString(), QString("abp"));
    }

    void cliExportsEveryFormatFromOneConfig() {
        const QString cfg = smallAbpConfig();
        const QStringList common{"--config", cfg, "--frames", "2", "--stride", "10", "--burn-in", "50", "--json"};
        const auto x = cli(QStringList{"export", "--format", "xyz", "--out", QString::fromStdString(file("cli.xyz"))} + common);
        QVERIFY2(x.code == 0, x.err.constData());
        const auto v = cli(QStringList{"export", "--format", "vtk", "--out", QString::fromStdString(file("cli.pvd"))} + common);
        QVERIFY2(v.code == 0, v.err.constData());
        const auto c = cli(QStringList{"export", "--format", "csv", "--out", QString::fromStdString(file("cli.csv"))} + common);
        QVERIFY2(c.code == 0, c.err.constData());
        QCOMPARE(QJsonDocument::fromJson(v.out).object()["files"].toArray().size(), 5);  // .pvd, 2 x (.vtp, .vti)
        QCOMPARE(QJsonDocument::fromJson(c.out).object()["files"].toArray().size(), 2);  // particles and EPR series
        RUN_PY(py, QString(kPrelude) + R"PY(
import csv, os, xml.etree.ElementTree as ET
ase_io = need("ase.io"); vtk = need("vtk")
from vtk.util.numpy_support import vtk_to_numpy
xyz = ase_io.read(sys.argv[1], index=":")
root = ET.parse(sys.argv[2]).getroot()
files = [os.path.join(os.path.dirname(sys.argv[2]), d.get("file")) for d in root.iter("DataSet")]
r = vtk.vtkXMLPolyDataReader(); r.SetFileName(files[0]); r.Update()
g = vtk.vtkXMLImageDataReader(); g.SetFileName(files[1]); g.Update()
rows = list(csv.DictReader(open(sys.argv[3], newline="")))
epr = list(csv.DictReader(open(sys.argv[4], newline="")))
emit({"xyz_frames": len(xyz), "xyz_sigma": xyz[0].arrays["sigma_sq"], "xyz_positions": xyz[0].positions,
      "vtp_sigma": vtk_to_numpy(r.GetOutput().GetPointData().GetArray("sigma_sq")),
      "vtp_points": vtk_to_numpy(r.GetOutput().GetPoints().GetData()),
      "vti_dims": g.GetOutput().GetDimensions(), "vti_density_sum": float(vtk_to_numpy(g.GetOutput().GetPointData().GetArray("density")).sum()),
      "vti_spacing": g.GetOutput().GetSpacing(),
      "csv_rows": len(rows), "csv_sigma": [float(x["sigma_sq"]) for x in rows[:128]],
      "epr_rows": len(epr), "epr_columns": list(epr[0].keys())})
)PY", {QString::fromStdString(file("cli.xyz")), QString::fromStdString(file("cli.pvd")), QString::fromStdString(file("cli.csv")),
       QString::fromStdString(file("cli_epr.csv"))});
        // Same config and seed: the three files hold the same first frame.
        QCOMPARE(py.out["xyz_frames"].toInt(), 2);
        QCOMPARE(py.out["csv_rows"].toInt(), 2 * 128);
        QCOMPARE(py.out["epr_rows"].toInt(), 2);
        QVERIFY(py.out["epr_columns"].toArray().contains("epr_active_se"));
        std::vector<double> sigma;
        for (const auto& s : py.out["xyz_sigma"].toArray()) sigma.push_back(s.toDouble());
        QCOMPARE(static_cast<int>(sigma.size()), 128);
        QVERIFY(equal_values(py.out["vtp_sigma"], sigma, "vtp sigma_sq"));
        QVERIFY(equal_values(py.out["csv_sigma"], sigma, "csv sigma_sq"));
        std::vector<double> xyz;
        for (const auto& p : py.out["xyz_positions"].toArray())
            for (const auto& q : p.toArray()) xyz.push_back(q.toDouble());
        QVERIFY(equal_values(py.out["vtp_points"], xyz, "vtp points"));
        // The density field integrates to N over the box (fields.hpp).
        QCOMPARE(py.out["vti_dims"].toArray(), (QJsonArray{64, 64, 1}));
        const double h = py.out["vti_spacing"].toArray()[0].toDouble();
        QVERIFY(std::fabs(py.out["vti_density_sum"].toDouble() * h * h - 128) < 1e-6);
    }

    void cliExportsATrajectoryFrameByFrame() {
        const QString cfg = smallAbpConfig();
        const std::string traj = file("traj.h5");
        const auto s = cli({"simulate", "--config", cfg, "--steps", "60", "--frames", "6", "--out", QString::fromStdString(traj)});
        QVERIFY2(s.code == 0, s.err.constData());
        const Trajectory in = read_h5md(traj);
        QCOMPARE(in.frames.size(), std::size_t(7));  // the initial state and six more
        const std::string out = file("from_traj.xyz");
        const auto r = cli({"export", "--trajectory", QString::fromStdString(traj), "--format", "xyz", "--out",
                            QString::fromStdString(out), "--burn-in", "1", "--stride", "2", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QCOMPARE(QJsonDocument::fromJson(r.out).object()["frames"].toInt(), 3);  // stored frames 1, 3, 5
        RUN_PY(py, QString(kPrelude) + R"PY(
ase_io = need("ase.io")
fr = ase_io.read(sys.argv[1], index=":")
emit({"steps": [f.info["Step"] for f in fr], "positions": [f.positions[:, :2] for f in fr], "image": [f.arrays["image"] for f in fr],
      "learned": "sigma_sq" in fr[0].arrays})
)PY", {QString::fromStdString(out)});
        QVERIFY(py.out["learned"].toBool());
        const QJsonArray steps = py.out["steps"].toArray();
        QCOMPARE(steps.size(), 3);
        for (int k = 0; k < 3; ++k) {
            const State& f = in.frames[static_cast<std::size_t>(1 + 2 * k)];
            QCOMPARE(steps[k].toInt(), static_cast<int>(f.step));
            QVERIFY(equal_values(py.out["positions"].toArray()[k], f.x, "positions"));
            QVERIFY(equal_values(py.out["image"].toArray()[k], to_double(f.image), "image"));
        }
    }

    void modelNoneExportsPositionsOnlyAndSaysSo() {
        const QString cfg = smallAbpConfig();
        const std::string out = file("none.h5");
        const auto r = cli({"export", "--config", cfg, "--model", "none", "--format", "h5md", "--out", QString::fromStdString(out),
                            "--frames", "2", "--stride", "5", "--burn-in", "0", "--json"});
        QVERIFY2(r.code == 0, r.err.constData());
        QVERIFY(r.err.contains("positions and active variables only"));
        const QJsonObject o = QJsonDocument::fromJson(r.out).object();
        QVERIFY(!o["learned"].toBool());
        const Trajectory t = read_h5md(out);
        QCOMPARE(t.frames.size(), std::size_t(2));
        QVERIFY(t.per_particle.empty());
        QVERIFY(t.observables.empty());
        QVERIFY(t.parameters.count("network_weights_fnv1a64") == 0);
    }

    void aNetworkThatDoesNotFitIsBadInput() {
        // The shipped network is an ABP one: for AOUP it does not fit. Given
        // explicitly, that is exit 2; by default, positions only with a note.
        const QString aoup = writeText("aoup.json", R"({"version":1,"model":"aoup","n":64,"phi":0.3,"seed":2})");
        const QString shipped = QStringLiteral(ENTROSCOPE_RESOURCE_DIR "/models/default_fast.pt");
        const std::string out = file("misfit.xyz");
        const auto r = cli({"export", "--config", aoup, "--model", shipped, "--format", "xyz", "--out", QString::fromStdString(out),
                            "--frames", "1", "--burn-in", "0"});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains("does not fit"));
        QVERIFY(!fs::exists(out));
        const auto d = cli({"export", "--config", aoup, "--format", "xyz", "--out", QString::fromStdString(out), "--frames", "1",
                            "--burn-in", "0"});
        QVERIFY2(d.code == 0, d.err.constData());
        QVERIFY(d.err.contains("does not fit this system"));
        QVERIFY(fs::exists(out));
    }

    // ---- bad conditions --------------------------------------------------------

    void anUnwritableTargetIsExitTwoNamingIt() {
        const QString cfg = smallAbpConfig();
        writeText("plainfile", "x");
        for (const QString fmt : {"h5md", "xyz", "vtk", "csv"}) {
            for (const std::string& bad : {file("missing_dir/out.") + (fmt == "vtk" ? "pvd" : "dat"),
                                           file("plainfile/out.") + (fmt == "vtk" ? "pvd" : "dat")}) {
                const auto r = cli({"export", "--config", cfg, "--format", fmt, "--out", QString::fromStdString(bad), "--frames", "1",
                                    "--burn-in", "0", "--model", "none"});
                QVERIFY2(r.code == 2, qPrintable(fmt + ": " + r.err));
                QVERIFY2(r.err.contains(QByteArray::fromStdString(bad)), r.err.constData());
                QCOMPARE(r.err.count('\n'), 2);  // the --model none note and the one-line reason
                QVERIFY(!fs::exists(bad));
            }
        }
    }

    void aFullDiskIsExitTwoAndLeavesNoFile() {
        // RLIMIT_FSIZE stands in for a full disk: writes past it fail with
        // EFBIG (the CLI ignores SIGXFSZ itself; it is not ignored here).
        const QString cfg = smallAbpConfig();
        const fs::path sub = file("full");
        fs::create_directory(sub);
        for (const QString fmt : {"h5md", "xyz", "vtk", "csv"}) {
            const std::string out = (sub / ("out." + std::string(fmt == "vtk" ? "pvd" : fmt == "h5md" ? "h5" : fmt.toStdString()))).string();
            const auto r = cli({"export", "--config", cfg, "--format", fmt, "--out", QString::fromStdString(out), "--frames", "20",
                                "--stride", "5", "--burn-in", "0"},
                               40 * 1024);
            QVERIFY2(r.code == 2, qPrintable(fmt + QString(": exit %1: ").arg(r.code) + r.err));
            QVERIFY2(r.err.contains("File too large") || r.err.contains("disk full"), r.err.constData());
            QVERIFY2(fs::is_empty(sub), qPrintable(fmt + ": files left behind"));
        }
        // The same export without the limit works (the limit was the cause).
        const std::string ok = (sub / "out.xyz").string();
        const auto r = cli({"export", "--config", cfg, "--format", "xyz", "--out", QString::fromStdString(ok), "--frames", "20",
                            "--stride", "5", "--burn-in", "0"});
        QVERIFY2(r.code == 0, r.err.constData());
        QVERIFY(fs::file_size(ok) > 40 * 1024);
    }

    void aTrajectoryThatEndsEarlyIsExitTwo() {
        const QString cfg = smallAbpConfig();
        const std::string traj = file("short.h5");
        QCOMPARE(cli({"simulate", "--config", cfg, "--steps", "20", "--frames", "4", "--out", QString::fromStdString(traj)}).code, 0);
        const std::string out = file("early.h5");
        const auto r = cli({"export", "--trajectory", QString::fromStdString(traj), "--format", "h5md", "--out",
                            QString::fromStdString(out), "--frames", "10", "--model", "none"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("ends early") && r.err.contains("holds 5 frame(s)") && r.err.contains(QByteArray::fromStdString(traj)),
                 r.err.constData());
        QVERIFY(!fs::exists(out));
        QVERIFY(!has_temporary_files(fs::path(out).parent_path()));
        // --config and --trajectory do not mix; formats and targets are checked.
        QCOMPARE(cli({"export", "--trajectory", QString::fromStdString(traj), "--config", cfg, "--format", "xyz", "--out",
                      QString::fromStdString(file("x.xyz"))}).code, 2);
        QCOMPARE(cli({"export", "--config", cfg, "--format", "pdb", "--out", QString::fromStdString(file("x.pdb"))}).code, 2);
        QCOMPARE(cli({"export", "--config", cfg, "--format", "vtk", "--out", QString::fromStdString(file("x.vtp"))}).code, 2);
        QCOMPARE(cli({"export", "--config", cfg, "--format", "xyz"}).code, 2);
    }

    // SIGTERM (the window's Cancel sends SIGINT, a scheduler SIGTERM) between
    // frames: exit 2 saying so, and nothing left in the folder.
    void cliInterruptedBySigtermLeavesNothing() {
        const QString cfg = smallAbpConfig();
        QTemporaryDir out;
        const QString target = out.filePath("cut.xyz");
        QProcess p;
        p.start(QStringLiteral(ENTROSCOPE_CLI), {"export", "--config", cfg, "--format", "xyz", "--out", target, "--frames", "100000",
                                                 "--stride", "20", "--burn-in", "0"});
        QVERIFY(p.waitForStarted());
        QByteArray err;
        // Wait for the second frame, so the file is being written.
        for (int k = 0; k < 600 && !err.contains("frame 2 /"); ++k) {
            p.waitForReadyRead(100);
            err += p.readAllStandardError();
        }
        QVERIFY2(err.contains("frame 2 /"), err.constData());
        p.terminate();
        QVERIFY(p.waitForFinished(30000));
        err += p.readAllStandardError();
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 2);
        QVERIFY2(err.contains("interrupted at frame"), err.constData());
        QCOMPARE(QDir(out.path()).entryList(QDir::Files | QDir::Hidden), QStringList{});
    }
};

QTEST_APPLESS_MAIN(TestExport)
#include "TestExport.moc"
