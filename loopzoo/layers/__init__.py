"""Small registered building blocks: recall modes, norm placements, attention cells."""
