//! `sockstat --prometheus`: the families a sockstat report becomes.
