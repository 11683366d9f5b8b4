//! `probe --prometheus`: blackbox_exporter's tcp prober families and nettool's own.
