"""Model-to-model transforms: functions that take a model built from layers and return a changed one
(batch-norm freezing, conv-norm fusion, PT2E quantization). They sit above the layers and import them;
no layer imports a transform."""
