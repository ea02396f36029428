#include "render/interactor_style_2d.hpp"

#include <vtkCallbackCommand.h>
#include <vtkObjectFactory.h>
#include <vtkRenderWindowInteractor.h>

vtkStandardNewMacro(vtkEntroscopeInteractorStyle2D);

void vtkEntroscopeInteractorStyle2D::OnLeftButtonDown()
{
    const int* pos = this->Interactor->GetEventPosition();
    this->FindPokedRenderer(pos[0], pos[1]);
    if (!this->CurrentRenderer) {
        return;
    }
    this->GrabFocus(this->EventCallbackCommand);
    this->StartPan();
}

void vtkEntroscopeInteractorStyle2D::OnLeftButtonUp()
{
    if (this->State == VTKIS_PAN) {
        this->EndPan();
        if (this->Interactor) {
            this->ReleaseFocus();
        }
    }
}

void vtkEntroscopeInteractorStyle2D::OnChar()
{
    if (!this->Interactor) {
        return;
    }
    const char key = this->Interactor->GetKeyCode();
    if ((key == 'r' || key == 'R') && this->ResetCallback) {
        this->ResetCallback();
        this->Interactor->Render();
    }
}
