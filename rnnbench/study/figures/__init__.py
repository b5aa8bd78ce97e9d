"""Stage 4, the figures: takes the tables (and the registry's readings); gives every PNG and PDF in one
visual language (``style``), the default study's, the literature studies', the paper studies' and throughput's."""
