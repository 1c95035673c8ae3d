"""Every kind of change ``tvexp-api diff`` reports, as a documented enumeration.

A change's kind says what changed; whether it breaks users is decided per change from the tier and
the policy (:mod:`tvexp._api.policy`), and recorded next to the kind. The values are the strings
written in text and JSON output.
"""

from __future__ import annotations

import enum

__all__ = ["ChangeKind"]


class ChangeKind(str, enum.Enum):
    """The kind of one classified API change: its value appears in ``tvexp-api diff`` output and
    ``description`` says what it means."""

    description: str

    def __new__(cls, value: str, description: str) -> ChangeKind:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    OBJECT_ADDED = ("object-added", "A public object appeared.")

    OBJECT_REMOVED = ("object-removed", "A public object is gone without a deprecation that allowed it.")

    OBJECT_REMOVED_AFTER_DEPRECATION = (
        "object-removed-after-deprecation",
        "A deprecated object was removed as its deprecation planned.",
    )

    OBJECT_KIND_CHANGED = ("object-kind-changed", "A class became a function, a constant a class, and so on.")

    MOVED_NAME_ADDED = ("moved-name-added", "An old public path is now served by the moved-name table.")

    MOVED_NAME_REMOVED = ("moved-name-removed", "A moved name's old path was removed as planned.")

    MOVED_NAME_RETARGETED = ("moved-name-retargeted", "A moved name now points to another object.")

    MOVED_NAME_REMOVAL_CHANGED = (
        "moved-name-removal-changed",
        "A moved name's ``removed_in`` changed (breaking when earlier).",
    )

    SHIM_REMOVED_EARLY = (
        "shim-removed-early",
        "A deprecation or moved-name shim was removed before its ``removed_in``.",
    )

    PROMOTED = ("promoted", "A prototype object moved to the stable tier.")

    DEMOTED = ("demoted", "A stable or core object moved to the prototype tier.")

    RENAMED = ("renamed", "An object now lives under another public name.")

    RENAMED_WITH_ALIAS = (
        "renamed-with-alias",
        "A class or function was renamed; the old public name is kept as an alias.",
    )

    TIER_MARKER_CHANGED = (
        "tier-marker-changed",
        "The tier marker next to the definition disagrees (or agrees again) with the namespace.",
    )

    DEFINING_MODULE_CHANGED = (
        "defining-module-changed",
        "The module that defines a class changed; pickles name the old module.",
    )

    PICKLE_PATH_REMOVED = (
        "pickle-path-removed",
        "No object is left at a class's old module:qualname: whole-model pickles (torch.save(model)) fail to load.",
    )
    QUALNAME_CHANGED = ("qualname-changed", "A class's qualified name changed; pickles name the old one.")

    DEPRECATED = ("deprecated", "An object was deprecated (breaking when the span is shorter than the policy).")

    UNDEPRECATED = ("undeprecated", "An object is no longer deprecated.")

    DEPRECATION_CHANGED = ("deprecation-changed", "A deprecation's ``since`` or ``removed_in`` changed.")

    BASE_ADDED = ("base-added", "A class gained a base class.")

    BASE_REMOVED = ("base-removed", "A class lost a base class: ``isinstance`` checks fail.")

    CLASS_NOW_ABSTRACT = ("class-now-abstract", "A class can no longer be instantiated.")

    SIGNATURE_UNAVAILABLE = ("signature-unavailable", "A signature could be inspected on one side only.")

    PARAMETER_ADDED = ("parameter-added", "A parameter with a default was added.")

    PARAMETER_ADDED_REQUIRED = (
        "parameter-added-required",
        "A parameter without a default was added: existing calls fail.",
    )

    PARAMETER_REMOVED = ("parameter-removed", "A parameter was removed.")

    PARAMETER_REMOVED_DEPRECATED = (
        "parameter-removed-deprecated",
        "A parameter was removed but is still accepted with a deprecation warning.",
    )

    PARAMETER_RENAMED_DEPRECATED = (
        "parameter-renamed-deprecated",
        "A parameter was renamed; the old keyword warns until ``removed_in``.",
    )

    PARAMETER_KIND_CHANGED = (
        "parameter-kind-changed",
        "A parameter changed kind (for example positional-or-keyword to keyword-only).",
    )

    PARAMETER_MOVED = ("parameter-moved", "A positional parameter changed position.")

    PARAMETER_NOW_REQUIRED = ("parameter-now-required", "A parameter lost its default.")

    PARAMETER_NOW_OPTIONAL = ("parameter-now-optional", "A parameter gained a default.")

    PARAMETER_DEFAULT_CHANGED = (
        "parameter-default-changed",
        "A parameter's default value changed: calls that omit it behave differently.",
    )

    PARAMETER_ANNOTATION_WIDENED = ("parameter-annotation-widened", "A parameter accepts more types than before.")

    PARAMETER_ANNOTATION_NARROWED = ("parameter-annotation-narrowed", "A parameter accepts fewer types than before.")

    RETURN_ANNOTATION_NARROWED = ("return-annotation-narrowed", "A function returns fewer types than before.")

    RETURN_ANNOTATION_WIDENED = ("return-annotation-widened", "A function may return types it did not before.")

    PARAMETER_PROMOTED = ("parameter-promoted", "A prototype parameter of a stable object became stable.")

    PARAMETER_DEMOTED = ("parameter-demoted", "A stable parameter became a prototype option.")

    PARAMETER_DEPRECATED = ("parameter-deprecated", "A parameter was deprecated.")

    PARAMETER_SHIM_REMOVED = ("parameter-shim-removed", "A deprecated parameter was removed as planned.")

    MEMBER_ADDED = ("member-added", "A method, property or attribute was added.")

    METHOD_REMOVED = ("method-removed", "A method was removed.")

    PROPERTY_REMOVED = ("property-removed", "A property was removed.")

    ATTRIBUTE_REMOVED = ("attribute-removed", "An attribute was removed.")

    MEMBER_KIND_CHANGED = ("member-kind-changed", "A member changed kind (method to property, ...).")

    MEMBER_ORIGIN_CHANGED = ("member-origin-changed", "A member is now inherited from another class.")

    NEW_ABSTRACT_METHOD = ("new-abstract-method", "A method subclasses must override was added or became abstract.")

    ATTRIBUTE_TYPE_CHANGED = ("attribute-type-changed", "An attribute's type changed to one that is not narrower.")

    ATTRIBUTE_TYPE_NARROWED = (
        "attribute-type-narrowed",
        "An attribute's type got narrower (readers still get what they expect).",
    )

    REFERENCE_CONFIGURATION_CHANGED = (
        "reference-configuration-changed",
        "A reference configuration of the conformance table was added or removed.",
    )

    STATE_DICT_KEY_ADDED = ("state-dict-key-added", "A checkpoint key was added: old checkpoints fail strict loading.")

    STATE_DICT_KEY_REMOVED = ("state-dict-key-removed", "A checkpoint key was removed without a state-dict migration.")

    STATE_DICT_KEY_RENAMED = (
        "state-dict-key-renamed",
        "A checkpoint key looks renamed without a state-dict migration.",
    )

    STATE_DICT_KEY_RENAMED_MIGRATED = (
        "state-dict-key-renamed-migrated",
        "A checkpoint key was renamed; a declared migration loads old checkpoints.",
    )

    STATE_DICT_KEY_REMOVED_MIGRATED = (
        "state-dict-key-removed-migrated",
        "A checkpoint key was removed; a declared migration drops it from old checkpoints.",
    )

    STATE_DICT_SHAPE_CHANGED = ("state-dict-shape-changed", "A checkpoint tensor changed shape.")

    STATE_DICT_DTYPE_CHANGED = ("state-dict-dtype-changed", "A checkpoint tensor changed dtype.")

    STATE_DICT_ROLE_CHANGED = ("state-dict-role-changed", "A checkpoint entry changed role (parameter to buffer, ...).")

    STATE_DICT_PERSISTENCE_CHANGED = ("state-dict-persistence-changed", "A buffer started or stopped being saved.")

    NON_PERSISTENT_BUFFER_CHANGED = (
        "non-persistent-buffer-changed",
        "A non-persistent buffer was added or removed (checkpoints unaffected).",
    )

    OUTPUT_CHANGED = (
        "output-changed",
        "A reference configuration's forward returns another structure, shape or dtype for the same input.",
    )
    CAPABILITY_LOST = (
        "capability-lost",
        "A conformance check (scripting, export, compile, ...) the class passed is now a declared limit.",
    )
    CAPABILITY_GAINED = ("capability-gained", "The class now passes a conformance check it did not.")
    EXCEPTION_CHANGED = (
        "exception-changed",
        "A recorded bad use raises another exception type (or none); breaking unless the new type derives from the old.",
    )
    REJECTION_ADDED = ("rejection-added", "A new bad use is recorded with the exception it raises.")
    REJECTION_DROPPED = ("rejection-dropped", "A recorded bad use is no longer in the conformance table.")
    STATE_DICT_VERSION_CHANGED = ("state-dict-version-changed", "A class's state-dict ``_version`` changed.")

    def __str__(self) -> str:
        return self.value
