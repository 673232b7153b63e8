"""Assessment: probes that observe devices, pure checks that turn observations into findings."""
