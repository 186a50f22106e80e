"""Classic image-forensics cues behind the tampering detector (``detectors/tampering.py``).

Each cue module turns a grey-level image into a per-cell suspicion map (robust z-scores,
NaN where the cue cannot judge) and, for copy-move, matched region pairs. Pure: numpy,
Pillow and (for copy-move only) OpenCV.
"""
