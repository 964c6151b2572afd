"""Human-readable output of `stngan evaluate`: Markdown / CSV tables and one self-contained HTML report."""
