package qr

import (
	"github.com/makiuchi-d/gozxing"
)

// hybridBinarizer computes exactly what gozxing's HybridBinarizer does —
// a black point per 8×8 block, each block thresholded at the average of
// the 5×5 blocks around it — with the two passes over the pixels spread
// over the cores. On a 4K screenshot they were most of the decoding time.
// TestBinarizerMatchesGozxing holds the output equal to gozxing's.
type hybridBinarizer struct {
	*gozxing.GlobalHistogramBinarizer // GetBlackRow and small images
	matrix                            *gozxing.BitMatrix
}

func newHybridBinarizer(src gozxing.LuminanceSource) gozxing.Binarizer {
	return &hybridBinarizer{GlobalHistogramBinarizer: gozxing.NewGlobalHistgramBinarizer(src).(*gozxing.GlobalHistogramBinarizer)}
}

func (h *hybridBinarizer) CreateBinarizer(src gozxing.LuminanceSource) gozxing.Binarizer {
	return newHybridBinarizer(src)
}

const (
	blockPower = gozxing.BLOCK_SIZE_POWER
	blockSize  = gozxing.BLOCK_SIZE
)

func (h *hybridBinarizer) GetBlackMatrix() (*gozxing.BitMatrix, error) {
	if h.matrix != nil {
		return h.matrix, nil
	}
	src := h.GetLuminanceSource()
	width, height := src.GetWidth(), src.GetHeight()
	if width < gozxing.MINIMUM_DIMENSION || height < gozxing.MINIMUM_DIMENSION {
		m, err := h.GlobalHistogramBinarizer.GetBlackMatrix()
		if err != nil {
			return nil, err
		}
		h.matrix = m
		return m, nil
	}
	lum := src.GetMatrix()
	subW := (width + blockSize - 1) >> blockPower
	subH := (height + blockSize - 1) >> blockPower
	maxX, maxY := width-blockSize, height-blockSize
	blockX := func(x int) int { return min(x<<blockPower, maxX) }
	blockY := func(y int) int { return min(y<<blockPower, maxY) }

	// Pass one, parallel: sum, min and max of every block. (gozxing stops
	// tracking min and max once they differ by more than the dynamic
	// range; the full values give the same decisions below.)
	sums := make([]int32, subW*subH)
	mins := make([]uint8, subW*subH)
	maxs := make([]uint8, subW*subH)
	parallelRows(subH, func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			yo := blockY(y)
			for x := 0; x < subW; x++ {
				xo := blockX(x)
				sum, lo, hi := 0, 255, 0
				for yy := 0; yy < blockSize; yy++ {
					row := lum[(yo+yy)*width+xo : (yo+yy)*width+xo+blockSize]
					for _, p := range row {
						sum += int(p)
						lo = min(lo, int(p))
						hi = max(hi, int(p))
					}
				}
				sums[y*subW+x], mins[y*subW+x], maxs[y*subW+x] = int32(sum), uint8(lo), uint8(hi)
			}
		}
	})
	// Pass two, in order (each block may depend on the ones above and to
	// the left): the black points.
	bp := make([]int, subW*subH)
	for y := 0; y < subH; y++ {
		for x := 0; x < subW; x++ {
			i := y*subW + x
			lo, hi := int(mins[i]), int(maxs[i])
			avg := int(sums[i]) >> (blockPower * 2)
			if hi-lo <= gozxing.MIN_DYNAMIC_RANGE {
				avg = lo / 2
				if y > 0 && x > 0 {
					n := (bp[i-subW] + 2*bp[i-1] + bp[i-subW-1]) / 4
					if lo < n {
						avg = n
					}
				}
			}
			bp[i] = avg
		}
	}
	// Pass three, parallel: threshold each block. Block rows write
	// disjoint pixel rows except the last, which overlaps the one before
	// when the height is not a multiple of 8: it runs alone afterwards.
	m, err := gozxing.NewBitMatrix(width, height)
	if err != nil {
		return nil, err
	}
	threshold := func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			yo := blockY(y)
			top := min(max(y, 2), subH-3)
			for x := 0; x < subW; x++ {
				xo := blockX(x)
				left := min(max(x, 2), subW-3)
				sum := 0
				for z := -2; z <= 2; z++ {
					r := bp[(top+z)*subW+left-2 : (top+z)*subW+left+3]
					sum += r[0] + r[1] + r[2] + r[3] + r[4]
				}
				t := sum / 25
				for yy := 0; yy < blockSize; yy++ {
					row := lum[(yo+yy)*width+xo : (yo+yy)*width+xo+blockSize]
					for xx, p := range row {
						if int(p) <= t {
							m.Set(xo+xx, yo+yy)
						}
					}
				}
			}
		}
	}
	parallelRows(subH-1, threshold)
	threshold(subH-1, subH)
	h.matrix = m
	return m, nil
}
