"""Case metrics (考核指标): the figures of a period per unit, department or person, and the cases behind each."""
