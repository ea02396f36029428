#include "widgets/vtk_view.hpp"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QWheelEvent>

#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorObserver.h>
#include <vtkNew.h>
#include <vtkOpenGLFramebufferObject.h>
#include <vtkOpenGLState.h>
#include <vtkRenderer.h>
#include <vtkRendererCollection.h>

namespace entroscope::widgets {

struct VtkView::Impl {
    VtkView* self = nullptr;
    vtkNew<vtkGenericOpenGLRenderWindow> window;
    vtkNew<vtkGenericRenderWindowInteractor> interactor;
    vtkNew<vtkCallbackCommand> windowObserver;
    vtkNew<vtkCallbackCommand> renderRequest;
    bool glReady = false;
    bool inPaint = false;
    QMetaObject::Connection aboutToBeDestroyed;

    // VTK asks the host for its context through these events. Make-current
    // must not use QOpenGLWidget::makeCurrent(): that re-binds Qt's
    // framebuffer behind VTK's cached state and every frame comes out black.
    static void onWindowEvent(vtkObject*, unsigned long id, void* client, void* callData)
    {
        auto* d = static_cast<Impl*>(client);
        QOpenGLContext* ctx = d->self->context();
        switch (id) {
        case vtkCommand::WindowMakeCurrentEvent:
            if (ctx && QOpenGLContext::currentContext() != ctx) {
                ctx->makeCurrent(ctx->surface());
            }
            break;
        case vtkCommand::WindowIsCurrentEvent: {
            bool& current = *static_cast<bool*>(callData);
            current = ctx && QOpenGLContext::currentContext() == ctx;
            break;
        }
        case vtkCommand::WindowFrameEvent:
            // A render started by VTK itself (not by paintGL) finished:
            // show it.
            if (!d->inPaint) {
                d->self->update();
            }
            break;
        default:
            break;
        }
    }

    double dpr() const { return self->devicePixelRatioF(); }

    void setEventPosition(const QPointF& pos, Qt::KeyboardModifiers mods, bool repeat = false)
    {
        const double r = dpr();
        interactor->SetEventInformationFlipY(static_cast<int>(pos.x() * r + 0.5),
                                             static_cast<int>(pos.y() * r + 0.5),
                                             (mods & Qt::ControlModifier) ? 1 : 0,
                                             (mods & Qt::ShiftModifier) ? 1 : 0, 0, repeat ? 1 : 0);
        interactor->SetAltKey((mods & Qt::AltModifier) ? 1 : 0);
    }

    void finalize()
    {
        if (!glReady) {
            return;
        }
        self->makeCurrent();
        window->Finalize();
        window->SetReadyForRendering(false);
        glReady = false;
        self->doneCurrent();
    }
};

VtkView::VtkView(QWidget* parent) : QOpenGLWidget(parent), d_(std::make_unique<Impl>())
{
    d_->self = this;
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
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

    // The interactor does not render by itself; it asks Qt for a repaint.
    d_->interactor->SetRenderWindow(w);
    d_->interactor->EnableRenderOff();
    d_->renderRequest->SetClientData(this);
    d_->renderRequest->SetCallback([](vtkObject*, unsigned long, void* client, void*) {
        static_cast<VtkView*>(client)->update();
    });
    d_->interactor->AddObserver(vtkCommand::RenderEvent, d_->renderRequest);
    d_->interactor->Initialize();
}

VtkView::~VtkView()
{
    d_->finalize();
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
    update();
}

void VtkView::setInteractorStyle(vtkInteractorObserver* style)
{
    d_->interactor->SetInteractorStyle(style);
}

vtkRenderWindow* VtkView::renderWindow() const { return d_->window; }

bool VtkView::isGLReady() const { return d_->glReady; }

void VtkView::initializeGL()
{
    // Qt makes a new context when the widget moves to another top-level
    // window; release VTK's resources of the old one first.
    if (d_->aboutToBeDestroyed) {
        disconnect(d_->aboutToBeDestroyed);
    }
    d_->aboutToBeDestroyed = connect(context(), &QOpenGLContext::aboutToBeDestroyed, this,
                                     [this] { d_->finalize(); }, Qt::DirectConnection);
    d_->window->SetReadyForRendering(true);
    d_->window->OpenGLInitContext();
    d_->window->OpenGLInit();
    d_->glReady = true;
    const double r = d_->dpr();
    d_->interactor->UpdateSize(static_cast<int>(width() * r + 0.5), static_cast<int>(height() * r + 0.5));
}

void VtkView::resizeGL(int w, int h)
{
    const double r = d_->dpr();
    d_->interactor->UpdateSize(static_cast<int>(w * r + 0.5), static_cast<int>(h * r + 0.5));
}

void VtkView::paintGL()
{
    if (!d_->glReady) {
        return;
    }
    d_->inPaint = true;
    d_->window->Render();
    d_->inPaint = false;

    QOpenGLContext* ctx = context();
    if (QOpenGLContext::currentContext() != ctx) {
        ctx->makeCurrent(ctx->surface());
    }
    QOpenGLExtraFunctions* f = ctx->extraFunctions();
    const int* size = d_->window->GetSize();
    const int w = size[0];
    const int h = size[1];

    f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
    const GLenum buf = GL_COLOR_ATTACHMENT0;
    f->glDrawBuffers(1, &buf);
    d_->window->GetState()->vtkglDisable(GL_SCISSOR_TEST);
    f->glDisable(GL_SCISSOR_TEST);
    d_->window->BlitDisplayFramebuffer(0, 0, 0, w, h, 0, 0, w, h, GL_COLOR_BUFFER_BIT, GL_NEAREST);

    // Force alpha to 1, or grabFramebuffer() returns a transparent image.
    f->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
    f->glColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
    f->glClearColor(0.0f, 0.0f, 0.0f, 1.0f);
    f->glViewport(0, 0, w, h);
    f->glClear(GL_COLOR_BUFFER_BIT);
    f->glColorMask(GL_TRUE, GL_TRUE, GL_TRUE, GL_TRUE);
}

void VtkView::mousePressEvent(QMouseEvent* e)
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

void VtkView::mouseReleaseEvent(QMouseEvent* e)
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

void VtkView::mouseDoubleClickEvent(QMouseEvent* e)
{
    // Treated as a second press; VTK styles detect double clicks themselves.
    mousePressEvent(e);
}

void VtkView::mouseMoveEvent(QMouseEvent* e)
{
    d_->setEventPosition(e->position(), e->modifiers());
    d_->interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
    e->accept();
}

void VtkView::wheelEvent(QWheelEvent* e)
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

void VtkView::keyPressEvent(QKeyEvent* e)
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

void VtkView::keyReleaseEvent(QKeyEvent* e)
{
    const QByteArray text = e->text().toLatin1();
    d_->interactor->SetKeyCode(text.isEmpty() ? '\0' : text.at(0));
    d_->interactor->InvokeEvent(vtkCommand::KeyReleaseEvent);
    e->accept();
}

void VtkView::enterEvent(QEnterEvent* e)
{
    d_->interactor->InvokeEvent(vtkCommand::EnterEvent);
    QOpenGLWidget::enterEvent(e);
}

void VtkView::leaveEvent(QEvent* e)
{
    d_->interactor->InvokeEvent(vtkCommand::LeaveEvent);
    QOpenGLWidget::leaveEvent(e);
}

}  // namespace entroscope::widgets
