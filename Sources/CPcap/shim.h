// libpcap for bmad replay's reading of capture files (pcap and pcapng, as net_pcap reads them).
#include <pcap/pcap.h>
