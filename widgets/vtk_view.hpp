#pragma once
// A widget that hosts a vtkGenericOpenGLRenderWindow in a native child
// window (a QOpenGLWindow in a window container). VTK renders into its own
// framebuffers; each paint blits the result into the window's back buffer.
//
// Why a native window and not a QOpenGLWidget: a QOpenGLWidget makes Qt
// compose the whole top-level window with OpenGL on every frame (the
// widgets' backing store as a texture, the GL widget as another, then the
// whole window swapped). With a software rasteriser that composition cost
// about twice the scene itself (docs/notebook/live-session.md); a native
// window swaps only the view's own pixels.
#include <QImage>
#include <QSurfaceFormat>
#include <QWidget>
#include <memory>

class QWindow;
class vtkRenderer;
class vtkRenderWindow;
class vtkInteractorObserver;

namespace entroscope::widgets {

class VtkView : public QWidget {
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

    // True once the GL context exists and VTK could initialise its GL state.
    bool isGLReady() const;

    // Ask for a repaint (coalesced: several requests before the next paint
    // give one frame).
    void requestRender();

    // The view's picture, rendered now into VTK's framebuffer and read back
    // (null before the GL context exists).
    QImage grabFramebuffer();

    // The native window that receives the input events (for tests that
    // send them).
    QWindow* surfaceWindow() const;

Q_SIGNALS:
    // A frame was presented.
    void frameSwapped();

private:
    struct Impl;
    class Surface;
    std::unique_ptr<Impl> d_;
};

}  // namespace entroscope::widgets
