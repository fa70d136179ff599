"""What a run shows: reports, traces, timelines, plots and failure artefacts."""
