"""Look inside classifiers: SE excitations (:mod:`.excitation`), class-activation maps (:mod:`.cam`), how
class-specific the excitations are with a chance level (:mod:`.specificity`), class averages over a folder
(:mod:`.class_average`) and the numbers the Attention view and ``photolab-cli attention`` export
(:mod:`.records`)."""
