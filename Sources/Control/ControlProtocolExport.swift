// Everything that uses bmad's configuration or policies also talks the control protocol: one
// import gives both. Tools that only talk the protocol (the analyzer) import ControlProtocol.
@_exported import ControlProtocol
