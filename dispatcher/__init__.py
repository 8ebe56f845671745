"""The dispatcher: arq workers that turn restocks and notify calls into alerts."""
