"""Cases (事): intake from every channel, assignment to the grid, the closed loop, ratings, metrics, Open311."""
