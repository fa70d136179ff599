"""What a simulation is: the Sim and its zones' read-only views, programs,
scenarios and schedules."""
