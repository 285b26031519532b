"""Reliability suite: faults, hostile input and load; each test reports figures for the README."""
