"""OpenCSMS: a Charging Station Management System speaking OCPP-J 1.6, 2.0.1 and 2.1."""

__version__ = "0.1.0"
