import HoloCodegen
import HoloIR
import HoloSema
import HoloSource
