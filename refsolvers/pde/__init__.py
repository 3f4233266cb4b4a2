"""One module per PDE: parameters, equation text and the physics (linear symbol, nonlinear term, data)."""
