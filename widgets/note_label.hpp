#pragma once
#include <QString>

class QLabel;
class QWidget;

namespace entroscope::widgets {

// A small, word-wrapped, muted rich-text label for conventions and hints.
QLabel* makeNoteLabel(const QString& text, QWidget* parent);

}  // namespace entroscope::widgets
