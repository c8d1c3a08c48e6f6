//! Platform glue: file loading and console output on the host (std) and on RT-Thread.
