#include "widgets/vtk_view.hpp"

#include <cstring>

#include <QCursor>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QOpenGLWindow>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorObserver.h>
#include <vtkNew.h>
#include <vtkOpenGLState.h>
#include <vtkRenderer.h>
#include <vtkUnsignedCharArray.h>

namespace entroscope::widgets {

struct VtkView::Impl {
    VtkView* self = nullptr;
    Surface* surface = nullptr;
    QWidget* container = nullptr;
    vtkNew<vtkGenericOpenGLRenderWindow> window;
    vtkNew<vtkGenericRenderWindowInteractor> interactor;
    vtkNew<vtkCallbackCommand> windowObserver;
    vtkNew<vtkCallbackCommand> renderRequest;
    bool glReady = false;
    bool inPaint = false;
    QMetaObject::Connection aboutToBeDestroyed;

    QOpenGLContext* context() const;
    double dpr() const;
    void makeCurrent();

    // VTK asks the host for its context through these events. Make-current
    // makes the window's context current on the window directly, and only
    // if it is not current already: re-binding behind VTK's cached GL state
    // makes every frame black.
    static void onWindowEvent(vtkObject*, unsigned long id, void* client, void* callData)
    {
        auto* d = static_cast<Impl*>(client);
        QOpenGLContext* ctx = d->context();
        switch (id) {
        case vtkCommand::WindowMakeCurrentEvent:
            d->makeCurrent();
            break;
        case vtkCommand::WindowIsCurrentEvent: {
            bool& current = *static_cast<bool*>(callData);
            current = ctx && QOpenGLContext::currentContext() == ctx;
            break;
        }
        case vtkCommand::WindowFrameEvent:
            // A render started by VTK itself (not by a paint) finished:
            // show it.
            if (!d->inPaint) {
                d->self->requestRender();
            }
            break;
        default:
            break;
        }
    }

    void setEventPosition(const QPointF& pos, Qt::KeyboardModifiers mods, bool repeat = false)
    {
        const double r = dpr();
        interactor->SetEventInformationFlipY(static_cast<int>(pos.x() * r + 0.5),
                                             static_cast<int>(pos.y() * r + 0.5),
                                             (mods & Qt::ControlModifier) ? 1 : 0,
                                             (mods & Qt::ShiftModifier) ? 1 : 0, 0, repeat ? 1 : 0);
        interactor->SetAltKey((mods & Qt::AltModifier) ? 1 : 0);
    }

    void updateSize(int w, int h)
    {
        const double r = dpr();
        interactor->UpdateSize(static_cast<int>(w * r + 0.5), static_cast<int>(h * r + 0.5));
    }

    void finalize()
    {
        if (!glReady) {
            return;
        }
        makeCurrent();
        window->Finalize();
        window->SetReadyForRendering(false);
        glReady = false;
        if (QOpenGLContext* ctx = context()) {
            ctx->doneCurrent();
        }
    }
};

// The native window VTK draws into. It forwards Qt's input events to the
// interactor (flipped y, device pixels); the interactor asks for a repaint
// instead of rendering itself.
class VtkView::Surface : public QOpenGLWindow {
public:
    explicit Surface(Impl* d) : QOpenGLWindow(QOpenGLWindow::NoPartialUpdate), d_(d) {}

protected:
    void initializeGL() override
    {
        // A new context: release VTK's resources of an old one first.
        if (d_->aboutToBeDestroyed) {
            QObject::disconnect(d_->aboutToBeDestroyed);
        }
        d_->aboutToBeDestroyed = QObject::connect(context(), &QOpenGLContext::aboutToBeDestroyed, context(),
                                                  [d = d_] { d->finalize(); }, Qt::DirectConnection);
        d_->window->SetReadyForRendering(true);
        d_->window->OpenGLInitContext();
        d_->window->OpenGLInit();
        d_->glReady = true;
        d_->updateSize(width(), height());
    }

    void resizeGL(int w, int h) override { d_->updateSize(w, h); }

    void paintGL() override
    {
        if (!d_->glReady) {
            return;
        }
        d_->inPaint = true;
        d_->window->Render();
        d_->inPaint = false;

        d_->makeCurrent();
        QOpenGLExtraFunctions* f = context()->extraFunctions();
        const int* size = d_->window->GetSize();
        const int w = size[0];
        const int h = size[1];
        f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
        const GLenum buf = defaultFramebufferObject() == 0 ? GL_BACK_LEFT : GL_COLOR_ATTACHMENT0;
        f->glDrawBuffers(1, &buf);
        d_->window->GetState()->vtkglDisable(GL_SCISSOR_TEST);
        f->glDisable(GL_SCISSOR_TEST);
        d_->window->BlitDisplayFramebuffer(0, 0, 0, w, h, 0, 0, w, h, GL_COLOR_BUFFER_BIT, GL_NEAREST);
    }

    void mousePressEvent(QMouseEvent* e) override
    {
        d_->setEventPosition(e->position(), e->modifiers());
        switch (e->button()) {
        case Qt::LeftButton: d_->interactor->InvokeEvent(vtkCommand::LeftButtonPressEvent); break;
        case Qt::MiddleButton: d_->interactor->InvokeEvent(vtkCommand::MiddleButtonPressEvent); break;
        case Qt::RightButton: d_->interactor->InvokeEvent(vtkCommand::RightButtonPressEvent); break;
        default: break;
        }
        e->accept();
    }

    void mouseReleaseEvent(QMouseEvent* e) override
    {
        d_->setEventPosition(e->position(), e->modifiers());
        switch (e->button()) {
        case Qt::LeftButton: d_->interactor->InvokeEvent(vtkCommand::LeftButtonReleaseEvent); break;
        case Qt::MiddleButton: d_->interactor->InvokeEvent(vtkCommand::MiddleButtonReleaseEvent); break;
        case Qt::RightButton: d_->interactor->InvokeEvent(vtkCommand::RightButtonReleaseEvent); break;
        default: break;
        }
        e->accept();
    }

    // Treated as a second press; VTK styles detect double clicks themselves.
    void mouseDoubleClickEvent(QMouseEvent* e) override { mousePressEvent(e); }

    void mouseMoveEvent(QMouseEvent* e) override
    {
        d_->setEventPosition(e->position(), e->modifiers());
        d_->interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
        e->accept();
    }

    void wheelEvent(QWheelEvent* e) override
    {
        d_->setEventPosition(e->position(), e->modifiers());
        const int dy = e->angleDelta().y();
        if (dy > 0) {
            d_->interactor->InvokeEvent(vtkCommand::MouseWheelForwardEvent);
        } else if (dy < 0) {
            d_->interactor->InvokeEvent(vtkCommand::MouseWheelBackwardEvent);
        }
        e->accept();
    }

    void keyPressEvent(QKeyEvent* e) override
    {
        const QPointF pos = mapFromGlobal(QCursor::pos());
        d_->setEventPosition(pos, e->modifiers(), e->isAutoRepeat());
        const QByteArray text = e->text().toLatin1();
        const char key = text.isEmpty() ? '\0' : text.at(0);
        const QByteArray sym = QKeySequence(e->key()).toString().toLatin1();
        d_->interactor->SetKeyCode(key);
        d_->interactor->SetKeySym(sym.isEmpty() ? nullptr : sym.constData());
        d_->interactor->InvokeEvent(vtkCommand::KeyPressEvent);
        if (key != '\0') {
            d_->interactor->InvokeEvent(vtkCommand::CharEvent);
        }
        e->accept();
    }

    void keyReleaseEvent(QKeyEvent* e) override
    {
        const QByteArray text = e->text().toLatin1();
        d_->interactor->SetKeyCode(text.isEmpty() ? '\0' : text.at(0));
        d_->interactor->InvokeEvent(vtkCommand::KeyReleaseEvent);
        e->accept();
    }

    bool event(QEvent* e) override
    {
        if (e->type() == QEvent::Enter) {
            d_->interactor->InvokeEvent(vtkCommand::EnterEvent);
        } else if (e->type() == QEvent::Leave) {
            d_->interactor->InvokeEvent(vtkCommand::LeaveEvent);
        }
        return QOpenGLWindow::event(e);
    }

private:
    Impl* d_;
};

QOpenGLContext* VtkView::Impl::context() const { return surface ? surface->context() : nullptr; }

double VtkView::Impl::dpr() const { return surface ? surface->devicePixelRatio() : 1.0; }

void VtkView::Impl::makeCurrent()
{
    QOpenGLContext* ctx = context();
    if (ctx && QOpenGLContext::currentContext() != ctx) {
        ctx->makeCurrent(surface);
    }
}

VtkView::VtkView(QWidget* parent) : QWidget(parent), d_(std::make_unique<Impl>())
{
    d_->self = this;
    setMinimumSize(200, 200);

    vtkGenericOpenGLRenderWindow* w = d_->window;
    w->SetMultiSamples(0);
    w->SetFrameBlitModeToNoBlit();
    // No early render: a render before the context exists crashes.
    w->SetReadyForRendering(false);
    w->SetForceMaximumHardwareLineWidth(1);

    d_->windowObserver->SetClientData(d_.get());
    d_->windowObserver->SetCallback(&Impl::onWindowEvent);
    w->AddObserver(vtkCommand::WindowMakeCurrentEvent, d_->windowObserver);
    w->AddObserver(vtkCommand::WindowIsCurrentEvent, d_->windowObserver);
    w->AddObserver(vtkCommand::WindowFrameEvent, d_->windowObserver);

    d_->interactor->SetRenderWindow(w);
    d_->interactor->EnableRenderOff();
    d_->renderRequest->SetClientData(this);
    d_->renderRequest->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
        static_cast<VtkView*>(client)->requestRender();
    });
    d_->interactor->AddObserver(vtkCommand::RenderEvent, d_->renderRequest);
    d_->interactor->Initialize();

    d_->surface = new Surface(d_.get());
    d_->surface->setFormat(defaultFormat());
    connect(d_->surface, &QOpenGLWindow::frameSwapped, this, &VtkView::frameSwapped);
    d_->container = QWidget::createWindowContainer(d_->surface, this);
    d_->container->setFocusPolicy(Qt::StrongFocus);
    d_->container->setMouseTracking(true);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(d_->container);
    setFocusProxy(d_->container);
}

VtkView::~VtkView()
{
    d_->finalize();
    if (d_->aboutToBeDestroyed) {
        disconnect(d_->aboutToBeDestroyed);
    }
    // The container owns the surface and with it the context; both go
    // before the VTK objects they serve.
    delete d_->container;
    d_->container = nullptr;
    d_->surface = nullptr;
    d_->interactor->SetInteractorStyle(nullptr);
    d_->window->RemoveAllObservers();
}

QSurfaceFormat VtkView::defaultFormat()
{
    QSurfaceFormat fmt;
    fmt.setRenderableType(QSurfaceFormat::OpenGL);
    fmt.setVersion(3, 2);
    fmt.setProfile(QSurfaceFormat::CoreProfile);
    fmt.setRedBufferSize(8);
    fmt.setGreenBufferSize(8);
    fmt.setBlueBufferSize(8);
    fmt.setAlphaBufferSize(8);
    fmt.setDepthBufferSize(24);
    fmt.setStencilBufferSize(0);
    fmt.setSamples(0);
    fmt.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
    return fmt;
}

void VtkView::addRenderer(vtkRenderer* renderer)
{
    d_->window->AddRenderer(renderer);
    requestRender();
}

void VtkView::setInteractorStyle(vtkInteractorObserver* style)
{
    d_->interactor->SetInteractorStyle(style);
}

vtkRenderWindow* VtkView::renderWindow() const { return d_->window; }

bool VtkView::isGLReady() const { return d_->glReady; }

QWindow* VtkView::surfaceWindow() const { return d_->surface; }

void VtkView::requestRender()
{
    if (d_->surface) {
        d_->surface->update();
    }
}

QImage VtkView::grabFramebuffer()
{
    if (!d_->glReady) {
        return {};
    }
    d_->makeCurrent();
    d_->inPaint = true;
    d_->window->Render();
    d_->inPaint = false;
    const int* size = d_->window->GetSize();
    const int w = size[0];
    const int h = size[1];
    vtkNew<vtkUnsignedCharArray> pixels;
    if (w <= 0 || h <= 0 || static_cast<vtkRenderWindow*>(d_->window)->GetPixelData(0, 0, w - 1, h - 1, 0, pixels.Get()) != 1) {
        return {};
    }
    QImage img(w, h, QImage::Format_RGB888);
    const unsigned char* src = pixels->GetPointer(0);
    for (int y = 0; y < h; ++y) {
        // VTK's rows run bottom to top.
        std::memcpy(img.scanLine(h - 1 - y), src + static_cast<std::size_t>(y) * static_cast<std::size_t>(w) * 3,
                    static_cast<std::size_t>(w) * 3);
    }
    img.setDevicePixelRatio(d_->dpr());
    return img;
}

}  // namespace entroscope::widgets
