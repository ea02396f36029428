#include "app/gui/cli_job.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTimer>
#include <csignal>

namespace entroscope::gui {

CliJob::CliJob(QObject* parent) : QObject(parent) {}

CliJob::~CliJob()
{
    if (running()) {
        const qint64 pid = process_->processId();
        if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGINT);
        if (!process_->waitForFinished(30000)) process_->kill();
        process_->waitForFinished(2000);
    }
}

QString CliJob::cliPath()
{
    const QByteArray env = qgetenv("ENTROSCOPE_CLI");
    if (!env.isEmpty()) return QFileInfo(QString::fromLocal8Bit(env)).isExecutable() ? QString::fromLocal8Bit(env) : QString();
    const QString here = QCoreApplication::applicationDirPath();
    for (const QString& p : {here + "/entroscope-cli", here + "/../cli/entroscope-cli", here + "/../../app/cli/entroscope-cli"})
        if (QFileInfo(p).isExecutable()) return QDir::cleanPath(p);
    return QStandardPaths::findExecutable("entroscope-cli");
}

bool CliJob::running() const { return process_ && process_->state() != QProcess::NotRunning; }

bool CliJob::start(const QStringList& args, const QString& title, QString* error)
{
    if (running()) {
        if (error) *error = tr("“%1” is still running; cancel it first.").arg(title_);
        return false;
    }
    const QString cli = cliPath();
    if (cli.isEmpty()) {
        if (error) *error = tr("entroscope-cli was not found beside the window's executable or on PATH (ENTROSCOPE_CLI names it).");
        return false;
    }
    delete process_;
    process_ = new QProcess(this);
    title_ = title;
    stderrTail_.clear();
    lastLine_.clear();
    cancelled_ = false;
    connect(process_, &QProcess::readyReadStandardError, this, &CliJob::readErr);
    connect(process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus status) {
        readErr();
        const QString json = QString::fromUtf8(process_->readAllStandardOutput());
        // A job that finished before the cancel reached it is not cancelled.
        const bool finishedAnyway = status == QProcess::NormalExit && code == 0;
        if (finishedAnyway) cancelled_ = false;
        const bool ok = finishedAnyway;
        Q_EMIT finished(ok, cancelled_, ok ? lastLine_ : (lastLine_.isEmpty() ? tr("exit code %1").arg(code) : lastLine_), json);
    });
    QStringList full = args;
    full << "--json";
    clock_.start();
    process_->start(cli, full);
    if (!process_->waitForStarted(10000)) {
        if (error) *error = tr("cannot start %1: %2").arg(cli, process_->errorString());
        return false;
    }
    return true;
}

void CliJob::cancel()
{
    if (!running()) return;
    cancelled_ = true;
    // Never signal pid 0 (a child still starting): that is the whole group.
    const qint64 pid = process_->processId();
    if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGINT);
    else process_->kill();
    // The CLI stops between simulation slices and removes its files; only a
    // CLI that has not stopped after half a minute is killed.
    QProcess* p = process_;
    QTimer::singleShot(30000, p, [p] {
        if (p->state() != QProcess::NotRunning) p->kill();
    });
}

void CliJob::readErr()
{
    if (!process_) return;
    stderrTail_ += QString::fromUtf8(process_->readAllStandardError());
    static const QRegularExpression frame(QStringLiteral("frame (\\d+) / (\\d+)"));
    int cut = 0;
    for (int nl = stderrTail_.indexOf('\n'); nl >= 0; nl = stderrTail_.indexOf('\n', cut)) {
        const QString line = stderrTail_.mid(cut, nl - cut).trimmed();
        cut = nl + 1;
        if (line.isEmpty()) continue;
        const auto m = frame.match(line);
        if (m.hasMatch()) {
            const int done = m.captured(1).toInt(), total = m.captured(2).toInt();
            const double elapsed = static_cast<double>(clock_.nsecsElapsed()) * 1e-9;
            const double left = done > 0 ? elapsed / done * (total - done) : -1.0;
            Q_EMIT progress(done, total, left);
        } else {
            lastLine_ = line;
        }
    }
    stderrTail_ = stderrTail_.mid(cut);
}

}  // namespace entroscope::gui
