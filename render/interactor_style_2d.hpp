#pragma once
// VTK interaction style for a flat 2-D scene viewed with a parallel camera:
// left (or middle) drag pans, wheel (or right drag) zooms, 'r' calls a reset
// callback. Rotation and the default keyboard bindings (wireframe, stereo,
// exit, ...) are disabled because they make no sense for a periodic box.
#include <functional>

#include <vtkInteractorStyleTrackballCamera.h>

class vtkEntroscopeInteractorStyle2D : public vtkInteractorStyleTrackballCamera {
public:
    static vtkEntroscopeInteractorStyle2D* New();
    vtkTypeMacro(vtkEntroscopeInteractorStyle2D, vtkInteractorStyleTrackballCamera)

    void SetResetCallback(std::function<void()> cb) { this->ResetCallback = std::move(cb); }

    void OnLeftButtonDown() override;
    void OnLeftButtonUp() override;
    void OnChar() override;
    void OnKeyPress() override {}

protected:
    vtkEntroscopeInteractorStyle2D() = default;
    ~vtkEntroscopeInteractorStyle2D() override = default;

private:
    std::function<void()> ResetCallback;
    vtkEntroscopeInteractorStyle2D(const vtkEntroscopeInteractorStyle2D&) = delete;
    void operator=(const vtkEntroscopeInteractorStyle2D&) = delete;
};
