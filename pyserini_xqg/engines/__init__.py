"""Engines other than the local one: ``engines.ray`` runs generate and encode as Ray Data batch inference."""
