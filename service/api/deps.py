"""FastAPI dependencies: each route asks for the parts of the app's components it uses."""

import threading
from typing import Annotated

from fastapi import Depends, Request

from service.chat.answerer import Answerer
from service.retrieval import Retriever
from service.settings import Settings
from service.wiring import Components


def _components(request: Request) -> Components:
    components: Components = request.state.components  # set by the app's lifespan
    return components


def get_settings(request: Request) -> Settings:
    return _components(request).settings


def get_retriever(request: Request) -> Retriever:
    return _components(request).retriever


def get_answerer(request: Request) -> Answerer:
    return _components(request).answerer


def get_write_lock(request: Request) -> threading.Lock:
    return _components(request).writes


SettingsDep = Annotated[Settings, Depends(get_settings)]
RetrieverDep = Annotated[Retriever, Depends(get_retriever)]
AnswererDep = Annotated[Answerer, Depends(get_answerer)]
WriteLockDep = Annotated[threading.Lock, Depends(get_write_lock)]
