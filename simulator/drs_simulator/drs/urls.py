"""DRS routing, moto style: the URL table comes from the botocore model (see shapes.route)."""
from .shapes import route

url_bases = [r"https?://drs\.(.+)\.amazonaws\.com"]
dispatch = route
