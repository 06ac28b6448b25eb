"""The evaluation suite (dissertation ch. 4, Table 3 and Figures 9-10) for a corpus of JPEGs.

Data flows through one module per step:

    schemes          the four Table 3 schemes, their colours, which pjstore schemes work yet
    static_copies    the static baseline's pre-resized copies (lowest quality meeting the target)
    measure_storage  per image and scheme: bytes kept, bytes read per scale, PSNR reached, write time
    compute_cost     per image and scale: server transcode and client decode times (Figure 10)
    timing           the median-of-repeats timer those use
    tables           the rows above as frozen dataclasses, and their CSV files
    run              the corpus walk over a process pool, writing the CSVs
    aggregate        CSV rows -> per-scheme arrays -> the figures the summary reports (pure)
    projection       those figures scaled to an image host's workload (pure)
    plots, report    PNG figures and summary.md, drawn only from the CSVs

Beside them, `served` measures the served contract (what users receive, both contracts, the
egress frontier) for eval/served.py.
"""
