"""Korean text: cleaning, Kiwi morphemes and lemmas, the spaCy pipeline, paragraph/turn segmentation."""
