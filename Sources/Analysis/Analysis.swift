// The analysis-cluster node's library: ingest, storage, inspection, alerts. Captures and their
// codecs come from PacketCapture, which every user of this module also sees.
@_exported import PacketCapture
