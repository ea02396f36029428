#pragma once
// A background job of entroscope-cli (a movie of a trajectory or a fresh
// run, a data export): the window starts the same command a user would
// type, reads its progress lines ("frame K / N") for a progress bar with an
// estimate of the time left, and cancels it with SIGINT, on which the CLI
// removes what it started to write. The CLI's JSON (--json) is the result.
#include <QElapsedTimer>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace entroscope::gui {

class CliJob : public QObject {
    Q_OBJECT
public:
    explicit CliJob(QObject* parent = nullptr);
    ~CliJob() override;

    // entroscope-cli beside this executable (installed: the same bin/; the
    // build tree: ../cli/), else on PATH; ENTROSCOPE_CLI overrides. Empty
    // when none is found.
    static QString cliPath();

    // Starts `entroscope-cli ARGS --json`. False with *error when a job is
    // running or the CLI cannot be found or started.
    bool start(const QStringList& args, const QString& title, QString* error = nullptr);
    bool running() const;
    const QString& title() const { return title_; }
    // Asks the CLI to stop (SIGINT); it is killed if it has not stopped
    // within 30 seconds. finished() follows with cancelled = true (false
    // when the job had finished anyway).
    void cancel();

Q_SIGNALS:
    // done of total frames, and the seconds left at the pace so far (< 0
    // before there is a pace).
    void progress(int done, int total, double secondsLeft);
    // ok: exit 0. message: the CLI's last error line (exit != 0) or its
    // stderr summary; json: its stdout.
    void finished(bool ok, bool cancelled, const QString& message, const QString& json);

private:
    void readErr();

    QProcess* process_ = nullptr;
    QString title_, stderrTail_, lastLine_;
    QElapsedTimer clock_;
    bool cancelled_ = false;
};

}  // namespace entroscope::gui
