"""Delivery providers behind one interface: SMTP, Twilio, push gateway, console."""
