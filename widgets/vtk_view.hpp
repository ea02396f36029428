#pragma once
// A QOpenGLWidget that hosts a vtkGenericOpenGLRenderWindow in the widget's
// own GL context (ARCHITECTURE.md "Hosting VTK in Qt6"). VTK renders into its
// own framebuffers; paintGL blits the result into Qt's framebuffer.
#include <QOpenGLWidget>
#include <QSurfaceFormat>
#include <memory>

class vtkRenderer;
class vtkRenderWindow;
class vtkInteractorObserver;

namespace entroscope::widgets {

class VtkView : public QOpenGLWidget {
    Q_OBJECT
public:
    explicit VtkView(QWidget* parent = nullptr);
    ~VtkView() override;

    // The format VTK needs: OpenGL 3.2 core, RGBA8, depth, no stencil, no
    // multisampling, double buffer. Set it with QSurfaceFormat::setDefaultFormat
    // before the QApplication is created.
    static QSurfaceFormat defaultFormat();

    void addRenderer(vtkRenderer* renderer);
    void setInteractorStyle(vtkInteractorObserver* style);
    vtkRenderWindow* renderWindow() const;

    // True once initializeGL ran and VTK could initialise its GL state.
    bool isGLReady() const;

protected:
    void initializeGL() override;
    void paintGL() override;
    void resizeGL(int w, int h) override;

    void mousePressEvent(QMouseEvent* e) override;
    void mouseReleaseEvent(QMouseEvent* e) override;
    void mouseDoubleClickEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void wheelEvent(QWheelEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;
    void keyReleaseEvent(QKeyEvent* e) override;
    void enterEvent(QEnterEvent* e) override;
    void leaveEvent(QEvent* e) override;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace entroscope::widgets
