"""esso-ngs: neural-guided synthesis for ESSO kernel holes."""
__version__ = "0.1.0"
