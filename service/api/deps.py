"""FastAPI dependencies: the app's collections and settings (service/api/access.py gives a
route the collection its request names)."""

from typing import Annotated

from fastapi import Depends, Request

from service.settings import Settings
from service.wiring import Collections


def get_collections(request: Request) -> Collections:
    collections: Collections = request.state.collections  # set by the app's lifespan
    return collections


def get_settings(request: Request) -> Settings:
    return get_collections(request).settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
CollectionsDep = Annotated[Collections, Depends(get_collections)]
